"""Accounting tests: silence dp_accounting's per-order RDP convergence warnings (the orders
are simply excluded, which keeps the bound valid), so failures stay readable."""

from collections.abc import Iterator

import pytest
from absl import logging as absl_logging


@pytest.fixture(autouse=True)
def _quiet_absl() -> Iterator[None]:
    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    yield
    absl_logging.set_verbosity(level)
