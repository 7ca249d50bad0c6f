"""The `repo_tests` verifier: a repository's test command at a candidate patch, judged.

The run goes through `ponder.repair.testing.RepoRunner` (a fresh copy of the task's checkout
under the patch judge; cached, so twin patches cost one run; each fresh run admitted by the
run's budget and charged to it). The score is the fraction of FAIL_TO_PASS tests fixed, scaled
down by PASS_TO_PASS tests broken; it passes when every required test ran and passed and
nothing looked forged.
"""

from __future__ import annotations

from typing import Any

from ponder.budget import Budget
from ponder.kinds.repair import repository_of, snapshot_of
from ponder.repair.testing import TestReport, runner_for
from ponder.repair.tools import RepoTools
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.registry import register_verifier


@register_verifier("repo_tests")
class RepoTestsVerifier:
    name = "repo_tests"

    def __init__(self, sandbox: Any, budget: Budget | None = None) -> None:
        self.sandbox = sandbox
        self.runner = runner_for(sandbox, budget)

    async def report(self, task: VisibleTask, patch: str) -> TestReport:
        """The judged test run at `patch` (admitted by the run's budget, unless cached)."""
        tools = RepoTools(snapshot_of(task), patch)
        return await tools.run_tests(repository_of(task), self.runner)

    @staticmethod
    def verdict(report: TestReport) -> Verdict:
        return Verdict(
            score=report.value(),
            passed=report.resolved,
            feedback=report.summary(),
            details=report.to_dict() | {"headline": report.headline()},
        )

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        return [self.verdict(await self.report(task, c.answer or "")) for c in candidates]
