"""The `tests` verifier: runs the task's public tests against candidate code in the sandbox."""

from __future__ import annotations

import asyncio

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.sandbox.base import Limits, Sandbox
from ponder.task import VisibleTask
from ponder.testrun import run_tests
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.registry import register_verifier


@register_verifier("tests")
class TestsVerifier:
    """Score = fraction of public tests passed; passed = all passed; feedback = first failure.

    Each candidate is one sandbox job (charged to the budget) that runs every test
    separately, each under `per_test_s`.
    """

    name = "tests"

    def __init__(
        self,
        sandbox: Sandbox,
        budget: Budget | None = None,
        limits: Limits | None = None,
        per_test_s: float = 5.0,
    ) -> None:
        self.sandbox = sandbox
        self.budget = budget
        self.limits = limits
        self.per_test_s = per_test_s

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if task.kind != "code":
            raise ConfigError(
                f"the tests verifier checks code, but task {task.id} is {task.kind!r}",
                fix="use majority, judge or chooser for math tasks",
            )
        if not task.public_tests:
            return [Verdict.unknown("the task has no public tests to run") for _ in candidates]
        return list(await asyncio.gather(*(self._one(task, c) for c in candidates)))

    async def _one(self, task: VisibleTask, candidate: Candidate) -> Verdict:
        tests = task.public_tests
        limits = self.limits or Limits(timeout_s=min(60.0, 10.0 + self.per_test_s * len(tests)))
        run = await run_tests(
            self.sandbox,
            candidate.text,
            tests,
            limits,
            self.per_test_s,
            helpers=task.prompt,
            entry_point=task.entry_point,
        )
        result = run.exec_result
        if self.budget is not None and result is not None:
            self.budget.record_sandbox(result.duration_s)
        if result is not None and result.status == "sandbox_error":
            return Verdict.unknown(f"the sandbox failed: {result.note or result.stderr[-300:]}")
        return Verdict(
            score=run.fraction,
            passed=run.all_passed,
            feedback=run.feedback(),
            details=run.to_dict(),
        )
