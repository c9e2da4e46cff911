"""privml.pipeline."""
