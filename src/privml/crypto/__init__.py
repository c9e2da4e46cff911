"""Private computation on privml's models, one subpackage per technique.

- ``privml.crypto.he``: homomorphic-encryption (CKKS, TenSEAL) inference as a service.
- ``privml.crypto.mpc``: secure multi-party training and inference (MPyC, Shamir sharing).
"""
