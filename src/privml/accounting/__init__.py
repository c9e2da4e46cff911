"""privml.accounting."""
