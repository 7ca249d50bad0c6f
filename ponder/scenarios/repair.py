"""The `repair` scenario: the repository-repair scenarios under `scenarios/repair/` (or a
folder of such scenarios given as the source), graded on their hidden tests."""

from __future__ import annotations

from pathlib import Path

from ponder.scenarios.base import Scenario
from ponder.task import Task

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "repair"


class RepairScenario(Scenario):
    name = "repair"
    description = "small repositories with a planted bug, a failing test and hidden tests"

    def load(self) -> list[Task]:
        from ponder.repair.task import load_scenarios

        return load_scenarios(self.source or SCENARIOS_DIR)
