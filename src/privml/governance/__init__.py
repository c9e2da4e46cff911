"""privml.governance."""
