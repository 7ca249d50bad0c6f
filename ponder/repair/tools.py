"""The agent's tools over a repository copy: list files, read a file, grep, run the tests.

Reads go through a `PatchedView` (the original plus a patch, in memory); tests run in a fresh
copy made by the runner. Nothing here writes to the original repository.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from ponder.repair.patches import apply_patch
from ponder.repair.testing import RepoRunner, TestReport, run_and_score
from ponder.repair.workspace import PatchedView, RepoSnapshot
from ponder.task import Repository


@dataclass(frozen=True)
class GrepHit:
    path: str
    line: int  # 1-based
    text: str


def number_lines(text: str, start: int = 1, end: int | None = None) -> str:
    """`text` lines start..end (1-based, inclusive) as `  12 | code`."""
    lines = text.splitlines()
    end = len(lines) if end is None else min(end, len(lines))
    width = len(str(end))
    return "\n".join(f"{i:>{width}} | {lines[i - 1]}" for i in range(max(1, start), end + 1))


class RepoTools:
    """Tools over the repository at one patch (the node's state)."""

    def __init__(self, snapshot: RepoSnapshot, patch: str = "") -> None:
        self.snapshot = snapshot
        self.patch = patch
        self.view = PatchedView(snapshot, apply_patch(snapshot, patch))

    def at(self, patch: str) -> RepoTools:
        """The same repository at another patch."""
        return RepoTools(self.snapshot, patch)

    def list_files(self, pattern: str = "*") -> list[str]:
        return [f for f in self.view.files() if fnmatch.fnmatch(f, pattern)]

    def read_file(self, path: str, start: int = 1, end: int | None = None) -> str | None:
        """The file with line numbers, or None when it does not exist (or is binary)."""
        text = self.view.read(path)
        return None if text is None else number_lines(text, start, end)

    def grep(
        self, pattern: str, glob: str = "*.py", max_hits: int = 50, regex: bool = False
    ) -> list[GrepHit]:
        """Lines matching `pattern` (a plain substring unless `regex`)."""
        matcher = re.compile(pattern) if regex else None
        hits: list[GrepHit] = []
        for rel in self.list_files(glob):
            text = self.view.read(rel)
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if matcher.search(line) if matcher else pattern in line:
                    hits.append(GrepHit(rel, number, line.strip()))
                    if len(hits) >= max_hits:
                        return hits
        return hits

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
