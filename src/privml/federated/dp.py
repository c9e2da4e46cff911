"""DP-FedAvg (McMahan et al. 2018) with fixed or adaptive clipping (Andrew et al. 2021).

Each round every client joins with probability q (Poisson sampling). Each client's model update
is clipped to L2 norm C, the clipped updates are summed, Gaussian noise N(0, (z·C)²) is added to
the sum, and the sum is divided by the *expected* number of clients qN (a fixed denominator, so
one client changes the release by at most C/(qN)). Privacy is client-level: a client's whole
dataset is one unit. ``z`` is calibrated so that R rounds,
``SelfComposed(PoissonSampled(q, Gaussian(z)), R)``, meet the target ε under privml's
accountant.

Adaptive clipping: each client also reports the bit b = 1[‖Δ‖ ≤ C]; the server releases the
noisy count Σ(b − ½) + N(0, σ_b²) (sensitivity ½, so a Gaussian of multiplier 2σ_b) and moves C
geometrically toward the γ-quantile of the update norms: C ← C·exp(−η(b̄ − γ)). The two
Gaussian releases of a round act on the same sample, and composing Gaussians of multipliers
z_Δ and 2σ_b is exactly one Gaussian of multiplier z = (z_Δ⁻² + (2σ_b)⁻²)^(−½) (the paper's
Theorem 1), so z is calibrated as above and the update noise is z_Δ = (z⁻² − (2σ_b)⁻²)^(−½).

Distributed noise: each client adds N(0, (z·C)²/m) itself, so any m of them together carry the
full noise and the server never sees a less-noised sum (with secure aggregation it sees only the
sum). If fewer than m clients contribute, the server tops the noise up (and says so).

All noise comes from the OS CSPRNG (:mod:`privml.csprng`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from privml.accounting import Gaussian, PoissonSampled, SelfComposed, calibrate, epsilon, to_dict
from privml.csprng import secure_standard_normal

# Default σ_b: the paper's qN/20, but at least 1.2·z so that the clipped count takes about 17%
# of the round's privacy (z_Δ ≈ 1.09·z); the paper's cohorts of hundreds never hit this floor.
QUANTILE_NOISE_FLOOR = 1.2


@dataclass(frozen=True)
class DPPlan:
    """One DP-FedAvg run's noise, clipping and privacy guarantee."""

    clients: int
    sampling_rate: float
    rounds: int
    delta: float
    epsilon: float
    accountant: str
    noise_multiplier: float  # z: the Gaussian the accountant composes (per round)
    update_noise_multiplier: float  # z_Δ: std of the noise on the update sum is z_Δ·C
    quantile_noise: float | None  # σ_b (adaptive clipping only)
    clipping: str
    clip_norm: float  # C, or its initial value under adaptive clipping
    target_quantile: float
    clip_lr: float
    noise: str  # central | distributed
    noise_shares: int  # m: distributed shares that together make the full noise

    @property
    def expected_clients(self) -> float:
        return self.sampling_rate * self.clients

    def mechanism(self):  # noqa: ANN201 (privml.accounting.Mechanism)
        return round_mechanism(self.noise_multiplier, self.sampling_rate, self.rounds)

    def to_dict(self) -> dict:
        return {**asdict(self), "mechanism": to_dict(self.mechanism())}


def round_mechanism(z: float, q: float, rounds: int):  # noqa: ANN201
    return SelfComposed(PoissonSampled(q, Gaussian(z)), rounds)


def default_delta(clients: int, policy_delta: float = 1e-5) -> float:
    """min(1/(10·N), the ledger policy's δ): well below 1/N for N clients."""
    return min(1.0 / (10 * clients), policy_delta)


def plan_dp(
    *,
    clients: int,
    sampling_rate: float,
    rounds: int,
    target_epsilon: float,
    delta: float,
    clipping: str = "fixed",
    clip_norm: float = 1.0,
    target_quantile: float = 0.5,
    clip_lr: float = 0.2,
    quantile_noise: float | None = None,
    noise: str = "central",
    noise_shares: int | None = None,
    accountant: str = "prv",
) -> DPPlan:
    """Calibrate z to ``target_epsilon`` at ``delta`` over ``rounds`` rounds at rate q."""
    cal = calibrate(
        lambda z: round_mechanism(z, sampling_rate, rounds), target_epsilon, delta, accountant
    )
    z = cal.noise_multiplier
    z_update, sigma_b = z, None
    if clipping == "adaptive":
        sigma_b = quantile_noise or max(sampling_rate * clients / 20, QUANTILE_NOISE_FLOOR * z)
        rest = z**-2 - (2 * sigma_b) ** -2
        if not rest > 0:
            raise ValueError(
                f"dp.quantile_noise: σ_b = {sigma_b:g} spends the whole budget on the clipped "
                f"count (need 2σ_b > z = {z:.3g}); raise it"
            )
        z_update = rest**-0.5
    m = noise_shares or max(1, math.floor(sampling_rate * clients))
    return DPPlan(
        clients=clients,
        sampling_rate=sampling_rate,
        rounds=rounds,
        delta=delta,
        epsilon=float(cal.result.epsilon),
        accountant=str(cal.result.accountant),
        noise_multiplier=z,
        update_noise_multiplier=z_update,
        quantile_noise=sigma_b,
        clipping=clipping,
        clip_norm=clip_norm,
        target_quantile=target_quantile,
        clip_lr=clip_lr,
        noise=noise,
        noise_shares=m,
    )


def plan_epsilon(plan: DPPlan, accountant: str | None = None) -> float:
    """The accountant's ε for the plan's mechanism at its δ (an upper bound)."""
    return float(epsilon(plan.mechanism(), plan.delta, accountant or plan.accountant).epsilon)


def clip(vec: np.ndarray, bound: float) -> tuple[np.ndarray, float]:
    """``vec`` scaled to L2 norm at most ``bound``, and its original norm."""
    norm = float(np.linalg.norm(vec))
    scale = min(1.0, bound / norm) if norm > 0 else 1.0
    return vec * scale, norm


def gaussian(n: int, std: float) -> np.ndarray:
    """N(0, std²) noise of length ``n`` from the OS CSPRNG."""
    return secure_standard_normal(n) * std if std > 0 else np.zeros(n)


def client_share(plan: DPPlan, clip_norm: float, delta: np.ndarray) -> tuple[np.ndarray, float]:
    """Distributed DP on the client: clip, add this client's noise share; the noised centred bit."""
    clipped, norm = clip(delta, clip_norm)
    std = plan.update_noise_multiplier * clip_norm / math.sqrt(plan.noise_shares)
    bit = (1.0 if norm <= clip_norm else 0.0) - 0.5
    if plan.quantile_noise:
        bit += float(gaussian(1, plan.quantile_noise / math.sqrt(plan.noise_shares))[0])
    return clipped + gaussian(delta.size, std), bit


class DPAggregator:
    """Server side of DP-FedAvg: the noised mean update of one round, and the clip-norm state."""

    def __init__(self, plan: DPPlan) -> None:
        self.plan = plan
        self.clip_norm = plan.clip_norm

    def aggregate(self, total: np.ndarray, bit_total: float, contributions: int) -> np.ndarray:
        """Noised mean update from the sum of clipped updates and the sum of centred bits.

        Central noise: the full N(0, (z_Δ·C)²) here. Distributed: the clients' shares are in
        ``total`` already; only the missing shares (fewer than m contributions) are added.
        """
        p = self.plan
        c = self.clip_norm
        if p.noise == "central":
            frac = 1.0
        else:
            frac = max(0, p.noise_shares - contributions) / p.noise_shares
        noised = total + gaussian(total.size, p.update_noise_multiplier * c * math.sqrt(frac))
        if p.clipping == "adaptive":
            assert p.quantile_noise is not None
            b = bit_total + float(gaussian(1, p.quantile_noise * math.sqrt(frac))[0])
            frac_below = b / p.expected_clients + 0.5
            self.clip_norm = c * math.exp(-p.clip_lr * (frac_below - p.target_quantile))
        return noised / p.expected_clients
