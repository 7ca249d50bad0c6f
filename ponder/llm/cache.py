"""ResponseCache: a SQLite file of generations keyed by (model, what runs it, messages, sampling
parameters)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ponder.errors import ConfigError
from ponder.llm.base import Generation, Message, SamplingParams
from ponder.llm.paths import responses_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    generation TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(
    model: str, messages: list[Message], params: SamplingParams, runs_on: str = ""
) -> str:
    """sha256 of the canonical JSON of what determines the answer. `runs_on` names what runs
    the model (engine build, model file hash): the same greedy prompt gives other answers on
    another llama.cpp build, so answers from one build must not replay under another."""
    payload = {
        "model": model,
        "runs_on": runs_on,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "params": params.cache_key(),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0


def _switch_to_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Put the database in WAL mode. When two processes open a new database at once, SQLite
    answers the switch with "database is locked" at once, without waiting on the busy
    timeout: retry until the timeout has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ResponseCache:
    """Generations stored as JSON in SQLite (WAL mode, busy timeout: safe for concurrent writers).

    Several processes may share one file; each opens its own connection. Within a process the
    connection is shared by threads under a lock.
    """

    def __init__(self, path: Path | str | None = None, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path) if path is not None else responses_path()
        self.busy_timeout_s = busy_timeout_s
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    def _connect(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # forked: never share a SQLite connection across processes
            self._conn, self._pid = None, os.getpid()
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path,
                    timeout=self.busy_timeout_s,
                    isolation_level=None,  # autocommit; each statement is its own transaction
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
                _switch_to_wal(conn, self.busy_timeout_s)
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(
                    f"cannot open the response cache {self.path}: {exc}",
                    fix="set PONDER_CACHE_DIR to a writable directory, or pass --no-cache",
                ) from exc
            self._conn = conn
        return self._conn

    def get(
        self, model: str, messages: list[Message], params: SamplingParams, runs_on: str = ""
    ) -> Generation | None:
        """The cached generation (with cached=True), or None on a miss."""
        key = cache_key(model, messages, params, runs_on)
        with self._lock:
            row = (
                self._connect()
                .execute("SELECT generation FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
            if row is None:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
        gen = Generation.from_dict(json.loads(row[0]))
        gen.cached = True
        return gen

    def put(
        self,
        model: str,
        messages: list[Message],
        params: SamplingParams,
        gen: Generation,
        runs_on: str = "",
    ) -> None:
        """Store a generation (the first writer of a key wins; later writes replace it)."""
        key = cache_key(model, messages, params, runs_on)
        blob = json.dumps(gen.to_dict() | {"cached": False}, ensure_ascii=False)
        with self._lock:
            self._connect().execute(
                "INSERT OR REPLACE INTO responses (key, model, generation, created) VALUES (?, ?, ?, ?)",
                (key, model, blob, time.time()),
            )
            self.stats.writes += 1

    def __len__(self) -> int:
        with self._lock:
            return self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self, model: str | None = None) -> int:
        """Delete all entries (or one model's); returns how many were removed."""
        with self._lock:
            conn = self._connect()
            if model is None:
                cur = conn.execute("DELETE FROM responses")
            else:
                cur = conn.execute("DELETE FROM responses WHERE model = ?", (model,))
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
