"""SQLite cache of repository test runs' verified results, keyed by (repository state, patch,
command, sandbox): see `ponder.repair.testing.RepoRunner`."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import time
from contextlib import closing
from pathlib import Path

from ponder.errors import SandboxError

# Not part of a repository's state.
IGNORED = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", ".tox"}
)


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
    """key -> JSON result in the SQLite file `path`; safe for several processes (WAL, busy
    timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._execute("PRAGMA journal_mode=WAL")
            self._execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT, created REAL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise SandboxError(
                f"cannot open the repository-result cache {path}: {exc}",
                fix="set PONDER_CACHE_DIR to a writable directory",
            ) from exc

    def _execute(self, sql: str, *args: object) -> list:
        """One statement on its own connection, committed (or rolled back), then closed."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            return db.execute(sql, args).fetchall()

    def get(self, key: str) -> str | None:
        rows = self._execute("SELECT value FROM results WHERE key = ?", key)
        return rows[0][0] if rows else None

    def put(self, key: str, value: str) -> None:
        sql = "INSERT OR REPLACE INTO results (key, value, created) VALUES (?, ?, ?)"
        self._execute(sql, key, value, time.time())
