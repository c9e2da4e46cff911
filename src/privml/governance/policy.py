"""The ledger's policy: a cap on each person's ε at a fixed δ over a rolling window.

Default: ε ≤ 4 at δ = 1e-5 over 182 days ("no person's data may be used for more than ε = 4
over six months"). δ must stay well below 1/N for N people in the data (δ = 1e-5 suits
datasets up to roughly 10⁴ people; lower it, e.g. to 1e-6 or 1/N², for larger ones) — the
ledger cannot know N, so this is on whoever sets the policy.

The policy is stored in the ledger itself; changing it appends a row, the latest row applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

DEFAULT_EPSILON_CAP = 4.0
DEFAULT_DELTA = 1e-5
DEFAULT_WINDOW_DAYS = 182


class PolicyError(ValueError):
    """A policy field is invalid; the message names the field."""


@dataclass(frozen=True)
class Policy:
    """Cap ``epsilon_cap`` at ``delta`` per person over the last ``window_days`` days."""

    epsilon_cap: float = DEFAULT_EPSILON_CAP
    delta: float = DEFAULT_DELTA
    window_days: int = DEFAULT_WINDOW_DAYS
    created_at: datetime | None = None
    reason: str = "default policy"

    def __post_init__(self) -> None:
        validate_policy(self.epsilon_cap, self.delta, self.window_days)

    def to_dict(self) -> dict[str, object]:
        return {
            "epsilon_cap": self.epsilon_cap,
            "delta": self.delta,
            "window_days": self.window_days,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "reason": self.reason,
        }


def validate_policy(epsilon_cap: float, delta: float, window_days: int) -> None:
    """Raise ``PolicyError`` naming the first invalid field."""
    if not (isinstance(epsilon_cap, int | float) and math.isfinite(epsilon_cap)):
        raise PolicyError(f"epsilon_cap: must be a finite number, got {epsilon_cap!r}")
    if not 0 < epsilon_cap <= 100:
        raise PolicyError(f"epsilon_cap: must be in (0, 100], got {epsilon_cap!r}")
    if not (isinstance(delta, int | float) and 1e-12 <= delta <= 1e-2):
        raise PolicyError(f"delta: must be in [1e-12, 1e-2], got {delta!r}")
    if isinstance(window_days, bool) or not isinstance(window_days, int):
        raise PolicyError(f"window_days: must be an integer, got {window_days!r}")
    if not 1 <= window_days <= 36500:
        raise PolicyError(f"window_days: must be in [1, 36500], got {window_days!r}")
