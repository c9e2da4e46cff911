"""Thin orchestration of the technique packages into runs."""
