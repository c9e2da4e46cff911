"""Why a secure-aggregation round stops."""

from __future__ import annotations


class SecAggError(Exception):
    """A protocol violation: a message out of order, malformed, or failing authentication."""


class SecAggAbort(SecAggError):
    """The round cannot complete (too few clients left); nothing about the inputs is released."""


class SecAggRefusal(SecAggError):
    """A client refuses a request that would expose a peer's input (both of its secrets)."""
