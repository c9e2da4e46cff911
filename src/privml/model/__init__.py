"""privml.model."""
