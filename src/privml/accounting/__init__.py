"""Privacy accounting: epsilon for DP-SGD runs and noise calibration for a target epsilon.

Built on Opacus's accountants (PRV, tight; RDP, looser). Every figure returned is an upper
bound on epsilon. If the tight accountant fails numerically, the RDP bound is returned instead
and the result says so.
"""

from privml.accounting.dpsgd import EpsilonResult, calibrate_noise, dp_sgd_epsilon

__all__ = ["EpsilonResult", "calibrate_noise", "dp_sgd_epsilon"]
