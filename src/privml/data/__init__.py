"""privml.data."""
