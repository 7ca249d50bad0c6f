"""Grading one patch: the policy, then the hidden test patch on top, then the judged run.

The one path by which `grade_patch` (after a search), `ponder repair check` and the bench
grade a patch; the search's own test runs use the same judge and scoring (`run_and_score`).
"""

from __future__ import annotations

from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.policy import PatchPolicy, PatchRefused
from ponder.repair.sources import EditRejected
from ponder.repair.testing import RepoRunner, TestReport, refused_report, run_and_score
from ponder.repair.workspace import PatchedView, RepoSnapshot


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
