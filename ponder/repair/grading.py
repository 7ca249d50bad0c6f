"""Grading one patch: the policy, then the hidden test patch on top, then the judged run.

The one path by which `grade_patch` (the repair kind's grading, after a search) and `ponder
repair check` grade a patch; the search's own test runs (the `repo_tests` verifier) use the
same judge and scoring (`run_and_score`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ponder.kinds.repair import repository_of, snapshot_of
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.policy import PatchPolicy, PatchRefused
from ponder.repair.sources import EditRejected
from ponder.repair.testing import (
    RepoRunner,
    TestReport,
    refused_report,
    run_and_score,
    runner_for,
)
from ponder.repair.workspace import PatchedView, RepoSnapshot
from ponder.task import Grade, Task

if TYPE_CHECKING:
    from ponder.sandbox.base import Sandbox


async def grade(
    runner: RepoRunner,
    snapshot: RepoSnapshot,
    patch: str,
    command: str,
    fail_to_pass: list[str],
    pass_to_pass: list[str],
    *,
    test_patch: str = "",
    protected: set[str] | None = None,
) -> TestReport:
    """Refuse a patch that touches tests or test configuration; else apply it, then
    `test_patch` (hidden tests, which it cannot have seen), and judge the run."""
    try:
        hidden_files = set(apply_patch(snapshot, test_patch)) if test_patch else set()
    except EditRejected as exc:
        return refused_report(
            f"the hidden test patch does not apply to the repository: {exc.reason}",
            fail_to_pass,
            pass_to_pass,
        )
    policy = PatchPolicy.for_repo(snapshot, (protected or set()) | hidden_files)
    try:
        changes = policy.check(snapshot, patch, snapshot.root)
    except PatchRefused as exc:
        return refused_report(exc.reason, fail_to_pass, pass_to_pass)
    except EditRejected as exc:
        return refused_report(f"the patch does not apply: {exc.reason}", fail_to_pass, pass_to_pass)
    if test_patch:
        try:
            changes = changes | apply_patch(PatchedView(snapshot, changes), test_patch)
        except EditRejected as exc:
            return refused_report(
                f"the hidden test patch does not apply after the patch: {exc.reason}",
                fail_to_pass,
                pass_to_pass,
            )
    graded = make_patch(snapshot, changes)
    return await run_and_score(runner, snapshot, graded, command, fail_to_pass, pass_to_pass)


def final_patch(task: Task, patch: str) -> str:
    """A candidate's patch without the files the task's setup patch touched (what a user
    applies; grading adds the hidden test patch itself)."""
    repository = task.visible.repository
    if repository is None or not repository.setup_patch or not patch:
        return patch
    snapshot = snapshot_of(task.visible)
    setup = set(apply_patch(snapshot, repository.setup_patch))
    changes = {k: v for k, v in apply_patch(snapshot, patch).items() if k not in setup}
    return make_patch(snapshot, changes)


async def grade_patch(task: Task, patch: str, sandbox: Sandbox | None) -> Grade:
    """Grade a final patch on the hidden part: the patch policy, then the hidden test patch
    (SWE-bench's test_patch, a scenario's hidden/ tests) and the hidden test ids (else the
    visible ones), judged by the runner the sandbox implies. Call only after the search ended."""
    repository = repository_of(task.visible)
    hidden = task.hidden
    report = await grade(
        runner_for(sandbox),
        snapshot_of(task.visible),
        final_patch(task, patch),
        repository.test_cmd,
        hidden.hidden_fail_to_pass or repository.fail_to_pass,
        hidden.hidden_pass_to_pass or repository.pass_to_pass,
        test_patch=hidden.test_patch,
        protected=repository.protected_files(),
    )
    details = {
        "resolved": report.resolved,
        "value": report.value(),
        "f2p_failed": report.f2p_failed,
        "p2p_broken": report.p2p_broken,
        "outcomes": report.outcomes,
        "problems": report.problems,
        "hidden_tests": bool(hidden.test_patch or hidden.hidden_fail_to_pass),
    }
    return Grade(correct=report.resolved, details=details)
