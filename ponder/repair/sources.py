"""What edits read (a FileSource), how they fail (EditRejected), and path resolution."""

from __future__ import annotations

import re
from typing import Protocol

from ponder.errors import PonderError
from ponder.repair.workspace import normalize_path

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
