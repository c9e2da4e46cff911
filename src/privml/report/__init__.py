"""privml.report."""
