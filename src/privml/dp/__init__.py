"""privml.dp."""
