"""The repository at one patch (a node's state): its files as the prompts show them, and its
tests run in a fresh copy by the runner. Nothing here writes to the original repository."""

from __future__ import annotations

import fnmatch

from ponder.repair.patches import apply_patch
from ponder.repair.sources import lines_of
from ponder.repair.testing import RepoRunner, TestReport, run_and_score
from ponder.repair.workspace import PatchedView, RepoSnapshot
from ponder.task import Repository


def number_lines(text: str, start: int = 1, end: int | None = None) -> str:
    """`text` lines start..end (1-based, inclusive) as `  12 | code`."""
    lines = lines_of(text, keepends=False)
    end = len(lines) if end is None else min(end, len(lines))
    width = len(str(end))
    return "\n".join(f"{i:>{width}} | {lines[i - 1]}" for i in range(max(1, start), end + 1))


class RepoTools:
    """The repository at one patch: reads go through a `PatchedView` (the original plus the
    patch, in memory)."""

    def __init__(self, snapshot: RepoSnapshot, patch: str = "") -> None:
        self.snapshot = snapshot
        self.patch = patch
        self.view = PatchedView(snapshot, apply_patch(snapshot, patch))

    def list_files(self, pattern: str = "*") -> list[str]:
        return [f for f in self.view.files() if fnmatch.fnmatch(f, pattern)]

    async def run_tests(self, repository: Repository, runner: RepoRunner) -> TestReport:
        """The repository's test command in a fresh copy at this patch, scored per test id."""
        return await run_and_score(
            runner,
            self.snapshot,
            self.patch,
            repository.test_cmd,
            repository.fail_to_pass,
            repository.pass_to_pass,
        )
