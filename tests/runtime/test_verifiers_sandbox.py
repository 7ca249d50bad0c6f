"""The `tests` verifier and code grading against the real sandboxes (local processes, Docker)."""

from __future__ import annotations

import pytest

from ponder.budget import Budget
from ponder.sandbox import open_sandbox
from ponder.task import HiddenPart, Task, VisibleTask, grade
from ponder.verifiers import Candidate, get_verifier

TASK = VisibleTask(
    id="add",
    kind="code",
    prompt="def add(a, b):\n    '''Return a + b.'''\n",
    entry_point="add",
    public_tests=["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(2, 2) == 4"],
)
CANDIDATES = [
    Candidate(text="def add(a, b):\n    return a + b\n"),
    Candidate(text="def add(a, b):\n    return a - b\n"),
    Candidate(text="def add(a, b):\n    while True:\n        pass\n"),
    Candidate(text="print('noise' * 10000)\ndef add(a, b):\n    return a + b\n"),
    Candidate(text="import sys\nsys.exit(0)\n"),
]


async def check_sandbox(kind: str) -> None:
    budget = Budget()
    async with open_sandbox(kind, pool_size=2) as sandbox:
        verifier = get_verifier("tests", sandbox=sandbox, budget=budget, per_test_s=1.0)
        good, half, loop, noisy, exits = await verifier.verify(TASK, CANDIDATES)
        task = Task(visible=TASK, hidden=HiddenPart(hidden_tests=["assert add(20, 22) == 42"]))
        graded = await grade(task, CANDIDATES[0].text, sandbox)
        wrong = await grade(task, CANDIDATES[1].text, sandbox)
    assert (good.score, good.passed) == (1.0, True)
    assert (half.score, half.passed) == (pytest.approx(1 / 3), False)
    assert half.feedback.startswith("failed test 1: assert add(1, 2) == 3")
    assert "AssertionError" in half.feedback
    assert (loop.score, loop.passed) == (0.0, False) and "Timeout" in loop.feedback
    assert (noisy.score, noisy.passed) == (1.0, True)  # the solution's prints do not confuse us
    assert (exits.score, exits.passed) == (0.0, False) and "SystemExit" in exits.feedback
    assert budget.spent.sandbox_runs == 5
    assert graded.correct and not wrong.correct


async def test_tests_verifier_on_local_sandbox() -> None:
    await check_sandbox("local")


@pytest.mark.docker
async def test_tests_verifier_on_docker_sandbox() -> None:
    await check_sandbox("docker")
