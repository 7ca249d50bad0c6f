"""SQLite cache of repository test runs' verified results, keyed by (repository state, patch,
command, sandbox): see `ponder.repair.testing.RepoRunner`."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ponder.errors import SandboxError

# Not part of a repository's state.
IGNORED = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", ".tox"}
)


def default_cache_path() -> Path:
    override = os.environ.get("PONDER_CACHE_DIR")
    root = Path(override).expanduser() if override else Path.home() / ".cache" / "ponder"
    return root / "sandbox-repo-results.sqlite"


def repo_state_hash(repo_dir: Path) -> str:
    """sha256 over every file's relative path, executable bit and content (symlinks: target)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(repo_dir):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(repo_dir).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                payload = b"link:" + os.readlink(path).encode()
            else:
                payload = hashlib.sha256(path.read_bytes()).digest()
            executable = b"x" if info.st_mode & stat.S_IXUSR else b"-"
            digest.update(rel.encode() + b"\0" + executable + payload)
    return digest.hexdigest()


def result_key(state: str, patch: str | None, command: list[str], sandbox: str) -> str:
    """`sandbox` names what ran it (`Sandbox.describe()`: a docker pool's image)."""
    blob = json.dumps({"state": state, "patch": patch or "", "command": command, "image": sandbox})
    return hashlib.sha256(blob.encode()).hexdigest()


class RepoCache:
    """key -> JSON result; safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT, created REAL)"
                )
        except (OSError, sqlite3.Error) as exc:
            raise SandboxError(
                f"cannot open the repository-result cache {self.path}: {exc}",
                fix="set PONDER_CACHE_DIR to a writable directory",
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # commits (or rolls back) the transaction
                yield db
        finally:
            db.close()

    def get(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO results (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )
