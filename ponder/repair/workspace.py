"""Read-only view of a repository's text files, and copies of it with a patch applied."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from ponder.errors import TaskFormatError

# Directories never shown to the agent; all but build/ and dist/ are not copied either.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        "build",
        "dist",
        ".eggs",
    }
)
MAX_TEXT_BYTES = 1_000_000


class RepoSnapshot:
    """The original repository, read lazily; never written to.

    Paths are POSIX strings relative to the root. Binary and huge files read as None.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise TaskFormatError(
                f"repository directory {root} does not exist or is not a directory",
                fix="pass the path of a checked-out repository (REPO_DIR)",
            )
        self._cache: dict[str, str | None] = {}
        self._files: list[str] | None = None

    def files(self) -> list[str]:
        """All files, sorted, skipping symlinks and VCS and cache directories."""
        if self._files is None:
            out = []
            for path in self.root.rglob("*"):
                rel = path.relative_to(self.root)
                skip = any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in rel.parts)
                if not skip and path.is_file() and not path.is_symlink():
                    out.append(rel.as_posix())
            self._files = sorted(out)
        return self._files

    def read(self, rel: str) -> str | None:
        """The file's text, or None when it is missing, binary or too large."""
        rel = normalize_path(rel)
        if rel not in self._cache:
            path = self.root / rel
            text: str | None = None
            if path.is_file() and path.stat().st_size <= MAX_TEXT_BYTES:
                try:
                    text = path.read_bytes().decode("utf-8")  # as is: no newline translation
                except UnicodeDecodeError:
                    text = None
            self._cache[rel] = None if text is None or "\x00" in text else text
        return self._cache[rel]


class PatchedView:
    """The repository as it looks after some changes: original files overlaid by `changes`.

    `changes` maps a path to its new text, or to None when the file is deleted.
    """

    def __init__(self, base: RepoSnapshot, changes: dict[str, str | None] | None = None) -> None:
        self.base = base
        self.changes: dict[str, str | None] = dict(changes or {})

    def read(self, rel: str) -> str | None:
        rel = normalize_path(rel)
        return self.changes[rel] if rel in self.changes else self.base.read(rel)

    def files(self) -> list[str]:
        deleted = {rel for rel, text in self.changes.items() if text is None}
        return sorted((set(self.base.files()) | self.changes.keys()) - deleted)


def normalize_path(rel: str) -> str:
    """`./a/b.py`, `a//b.py`, `a\\b.py` -> `a/b.py`. Rejects absolute paths and `..`."""
    rel = rel.strip().strip("`'\"").replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    posix = PurePosixPath(rel)
    if posix.is_absolute() or ".." in posix.parts:
        raise ValueError(f"path {rel!r} leaves the repository")
    return posix.as_posix()


def copy_repo(src: str | Path, dest: str | Path) -> Path:
    """Copy a repository tree (skipping caches and VCS metadata) to a new directory."""
    skipped = sorted(SKIPPED_DIRS - {"build", "dist"})
    ignore = shutil.ignore_patterns(*skipped, "*.egg-info")
    shutil.copytree(src, dest, symlinks=True, ignore=ignore)
    return Path(dest)


def write_changes(root: str | Path, changes: dict[str, str | None]) -> None:
    """Write changed files into a work copy (None deletes the file)."""
    root = Path(root)
    for rel, text in changes.items():
        path = root / normalize_path(rel)
        for step in (path, *path.parents):
            if step == root:
                break
            if step.is_symlink():  # writing through it could land outside the copy
                raise ValueError(f"path {rel!r} goes through the symlink {step.relative_to(root)}")
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
