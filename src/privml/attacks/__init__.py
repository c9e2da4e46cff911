"""privml.attacks."""
