"""privml.federated: federated learning on Flower with client-level DP and secure aggregation."""
