"""Shared test set-up: no test may touch the user's real budget ledger."""

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    """Before any fixture (module-scoped ones too), point PRIVML_LEDGER at a throwaway file."""
    os.environ["PRIVML_LEDGER"] = str(Path(tempfile.mkdtemp(prefix="privml-ledger-")) / "l.sqlite")


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path_factory, monkeypatch):
    """And a fresh ledger file for every test, so tests never share budget."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    monkeypatch.setenv("PRIVML_LEDGER", str(path))
