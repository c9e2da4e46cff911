"""Redaction of secrets in attack reports.

Attack reports name what leaked (a memorised phrase, a planted e-mail address, a canary). A
report must not itself leak it, yet a reviewer must be able to tell that two findings are the
same phrase. Choice: a keyed hash. ``redact`` returns ``hmac:<8 hex>…(<n> chars)`` where the
hex is HMAC-SHA256 under a random key drawn once per process (``os.urandom``) and never
written anywhere. Hence:

- equal texts get equal tags within one process (one run's reports), so findings can be
  matched up and counted;
- the tag cannot be inverted, not even for a low-entropy secret (a 9-digit canary has only
  10^9 values, which an *unkeyed* hash prefix would let anyone brute-force in seconds);
- tags from different runs are unlinkable, so published reports cannot be joined.

Only the length is disclosed (the format of a canary or PII type is public anyway).
``show=True`` (CLI ``--show-secrets``) returns the text unchanged, for a trusted reviewer.
"""

from __future__ import annotations

import hashlib
import hmac
import os

_KEY = os.urandom(32)
_HEX = 8


def redact(text: str, show: bool = False) -> str:
    """``text`` if ``show``, else a per-process keyed tag that reveals only its length."""
    if show:
        return text
    digest = hmac.new(_KEY, text.encode("utf-8"), hashlib.sha256).hexdigest()[:_HEX]
    return f"hmac:{digest}…({len(text)} chars)"
