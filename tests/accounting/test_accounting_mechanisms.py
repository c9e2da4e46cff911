"""Mechanism descriptions: JSON round trip, field-naming errors, dp_accounting events."""

from __future__ import annotations

import json

import dp_accounting
import pytest

from privml.accounting import (
    Composed,
    EpsilonDelta,
    FixedSizeSampled,
    Gaussian,
    Laplace,
    MechanismError,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
    dp_sgd,
    from_dict,
    to_dict,
)
from privml.accounting.mechanisms import to_dp_event

EVERY_KIND = Composed(
    (
        dp_sgd(1.1, 0.01, 1000),
        Laplace(2.0),
        RandomizedResponse(0.5, 4),
        EpsilonDelta(0.5, 1e-7),
        FixedSizeSampled(10, 1000, Gaussian(3.0)),
        SelfComposed(PoissonSampled(0.1, Laplace(1.0)), 5),
    )
)


def test_every_kind_round_trips_through_json():
    text = json.dumps(to_dict(EVERY_KIND))
    back = from_dict(json.loads(text))
    assert back == EVERY_KIND
    assert hash(back) == hash(EVERY_KIND)  # usable as a cache key
    assert {d["kind"] for d in json.loads(text)["mechanisms"]} == {
        "self_composed",
        "laplace",
        "randomized_response",
        "epsilon_delta",
        "fixed_size_sampled",
    }


@pytest.mark.parametrize(
    "payload,path",
    [
        (
            {"kind": "composed", "mechanisms": [{"kind": "gaussian", "noise_multiplier": -1}]},
            "mechanism.mechanisms[0].gaussian.noise_multiplier",
        ),
        (
            {
                "kind": "self_composed",
                "count": 3,
                "mechanism": {
                    "kind": "poisson_sampled",
                    "rate": 2,
                    "mechanism": {"kind": "gaussian", "noise_multiplier": 1},
                },
            },
            "mechanism.mechanism.poisson_sampled.rate",
        ),
        ({"kind": "nope"}, "mechanism.kind"),
        ({"kind": "epsilon_delta", "epsilon": 1, "delta": 1.5}, "epsilon_delta.delta"),
        (
            {
                "kind": "self_composed",
                "mechanism": {"kind": "laplace", "noise_multiplier": 1},
                "count": 0,
            },
            "self_composed.count",
        ),
    ],
)
def test_invalid_descriptions_name_the_field(payload, path):
    with pytest.raises(MechanismError, match=path.replace("[", r"\[").replace("]", r"\]")):
        from_dict(payload)


def test_dp_sgd_maps_to_the_equivalent_dp_accounting_event():
    event = to_dp_event(dp_sgd(1.3, 0.02, 77))
    assert event == dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.02, dp_accounting.GaussianDpEvent(1.3)), 77
    )
    assert isinstance(to_dp_event(EpsilonDelta(1.0, 1e-6)), dp_accounting.UnsupportedDpEvent)
