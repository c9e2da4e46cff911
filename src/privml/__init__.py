"""privml: train and ship models on sensitive data with privacy you can measure and prove."""

__version__ = "0.1.0"
