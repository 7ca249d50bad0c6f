"""What edits read (a FileSource), how they fail (EditRejected), and path resolution."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from ponder.errors import PonderError
from ponder.repair.workspace import normalize_path

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def lines_of(text: str, keepends: bool = True) -> list[str]:
    """`text`'s lines as git and Python's parser count them: only a newline ends a line.
    (`str.splitlines` also splits at a form feed or U+2028: line numbers from `ast` then point
    at the wrong lines, and splicing by them corrupts the file.)"""
    lines = _LINE.findall(text)
    return lines if keepends else [x.removesuffix("\n").removesuffix("\r") for x in lines]


def find_lines(lines: list[str], want: list[str], key: Callable[[str], str] = str) -> list[int]:
    """Every index at which `want` occurs as consecutive lines of `lines`, compared by `key`."""
    have, want = [key(x) for x in lines], [key(x) for x in want]
    return [i for i in range(len(have) - len(want) + 1) if have[i : i + len(want)] == want]


PATH_LINE = re.compile(
    r"^\s*(?:#+\s*)?(?:file(?:name)?\s*[:=]\s*)?`?([\w./\\-]+\.[\w]+)`?\s*:?\s*$", re.I
)


class FileSource(Protocol):
    """Anything that reads repository files by relative path (RepoSnapshot, PatchedView)."""

    def read(self, rel: str) -> str | None: ...

    def files(self) -> list[str]: ...


class EditRejected(PonderError):
    """An edit could not be parsed or applied; `reason` is written for the agent to read."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason, fix="rewrite the edit so that it matches the file exactly")


def resolve_path(source: FileSource, path: str) -> str:
    """The repository path an agent meant: exact, else a unique suffix match."""
    try:
        rel = normalize_path(path)
    except ValueError as exc:
        raise EditRejected(f"{exc}; use a path relative to the repository root") from None
    files = source.files()
    if rel in files:
        return rel
    suffix = [f for f in files if f.endswith("/" + rel) or rel.endswith("/" + f)]
    if len(suffix) == 1:
        return suffix[0]
    if len(suffix) > 1:
        raise EditRejected(f"file path {path!r} is ambiguous: it could be {', '.join(suffix[:5])}")
    return rel
