"""Each module of the task/kind/agent/search/verifier cluster imports first, on its own.

These modules import one another (kinds use the agents' parsing, agents build prompts through
kinds, verifiers see tasks); a cycle shows only when the wrong one is imported first, which
the rest of the suite, importing them in one order, cannot see.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CLUSTER = [
    "ponder.task",
    "ponder.kinds",
    "ponder.kinds.base",
    "ponder.kinds.origin",
    "ponder.kinds.code",
    "ponder.kinds.math",
    "ponder.kinds.repair",
    "ponder.agents",
    "ponder.agents.refiner",
    "ponder.search.base",
    "ponder.search.mcts",
    "ponder.verifiers",
    "ponder.verifiers.repo_tests",
    "ponder.repair.grading",
    "ponder.runner",
]


@pytest.mark.parametrize("module", CLUSTER)
def test_module_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
