"""Shared fixtures of the repair tests: the scenarios folder and a local test runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ponder.repair.testing import SubprocessRunner

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "repair"
SCENARIO_NAMES = sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.json"))


@pytest.fixture(scope="session")
def runner() -> SubprocessRunner:
    """What `make_runner("local")` gives: a temp copy run by this interpreter (which has
    pytest), NOT isolated.

    Session-wide so that its (repository, patch, command) cache spares repeated runs.
    """
    return SubprocessRunner(python=sys.executable, timeout_s=120)
