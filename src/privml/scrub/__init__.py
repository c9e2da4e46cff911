"""privml.scrub."""
