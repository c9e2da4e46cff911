"""Result values shared by every accountant: what was bounded, by which method, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpsilonResult:
    """An upper bound on epsilon at ``delta``; ``accountant`` names the bound actually used."""

    epsilon: float
    delta: float
    accountant: str
    bound: str = "upper"
    note: str = ""


@dataclass(frozen=True)
class DeltaResult:
    """An upper bound on delta at ``epsilon``; ``accountant`` names the bound actually used."""

    delta: float
    epsilon: float
    accountant: str
    bound: str = "upper"
    note: str = ""
