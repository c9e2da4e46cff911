"""Privacy accounting: upper bounds on ε (or δ) for composable mechanism descriptions.

Describe what was released (``mechanisms``: Gaussian, Laplace, randomized response, (ε, δ)
releases, Poisson or fixed-size sampling, composition), then ask ``epsilon``, ``delta`` or
``calibrate``. Accountants are dp_accounting's PLD and RDP and Opacus's PRV; every figure is an
upper bound, and a numerical failure of the tight accountant falls back to a valid looser bound
that the result names. ``dp_sgd_epsilon`` and ``calibrate_noise`` are DP-SGD shortcuts.
"""

from privml.accounting.accountants import ACCOUNTANTS, clear_caches, delta, epsilon
from privml.accounting.calibration import Calibration, calibrate
from privml.accounting.dpsgd import calibrate_noise, dp_sgd_epsilon
from privml.accounting.mechanisms import (
    Composed,
    EpsilonDelta,
    FixedSizeSampled,
    Gaussian,
    Laplace,
    Mechanism,
    MechanismError,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
    dp_sgd,
    from_dict,
    to_dict,
)
from privml.accounting.results import DeltaResult, EpsilonResult

__all__ = [
    "ACCOUNTANTS",
    "Calibration",
    "Composed",
    "DeltaResult",
    "EpsilonDelta",
    "EpsilonResult",
    "FixedSizeSampled",
    "Gaussian",
    "Laplace",
    "Mechanism",
    "MechanismError",
    "PoissonSampled",
    "RandomizedResponse",
    "SelfComposed",
    "calibrate",
    "calibrate_noise",
    "clear_caches",
    "delta",
    "dp_sgd",
    "dp_sgd_epsilon",
    "epsilon",
    "from_dict",
    "to_dict",
]
