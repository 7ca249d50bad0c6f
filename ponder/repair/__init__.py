"""SWE-style repair: search over patches until a repository's tests pass (`ponder repair`)."""

from ponder.repair.agent import RepairAgent, RepairSettings
from ponder.repair.edits import EditRejected, apply_edits, parse_edits
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.runner import RepairResult, grade_patch, repair
from ponder.repair.search import STRATEGIES, RepairContext, make_strategy
from ponder.repair.task import (
    RepairHidden,
    RepairSpec,
    RepairTask,
    load_scenario,
    load_scenarios,
    load_swe_bench,
    task_from_repo,
)
from ponder.repair.testing import SandboxRunner, SubprocessRunner, TestReport, make_runner

__all__ = [
    "STRATEGIES",
    "EditRejected",
    "RepairAgent",
    "RepairContext",
    "RepairHidden",
    "RepairResult",
    "RepairSettings",
    "RepairSpec",
    "RepairTask",
    "SandboxRunner",
    "SubprocessRunner",
    "TestReport",
    "apply_edits",
    "apply_patch",
    "grade_patch",
    "load_scenario",
    "load_scenarios",
    "load_swe_bench",
    "make_patch",
    "make_runner",
    "make_strategy",
    "parse_edits",
    "repair",
    "task_from_repo",
]
