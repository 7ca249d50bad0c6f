"""Shared test doubles for the runtime tests: a recording subprocess sandbox."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from ponder.sandbox.base import ExecResult, Job, Sandbox


class RecordingSandbox(Sandbox):
    """Runs each job's code in a local Python subprocess and records every job.

    A test double for the Docker sandbox (no isolation); tests that need the real one are
    marked `docker`.
    """

    isolated = False

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    async def run(self, job: Job) -> ExecResult:
        self.jobs.append(job)
        return await asyncio.to_thread(self._run, job)

    def _run(self, job: Job) -> ExecResult:
        if job.judge:  # tests run under the judge: the project's own runner, on the host
            from ponder.sandbox.local import run_once

            return run_once(job)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", job.code or ""],
                input=job.stdin,
                capture_output=True,
                text=True,
                timeout=job.limits.timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            return ExecResult(
                status="timeout",
                stdout=(exc.stdout or b"").decode()
                if isinstance(exc.stdout, bytes)
                else exc.stdout or "",
                duration_s=time.monotonic() - start,
            )
        return ExecResult(
            status="ok" if proc.returncode == 0 else "error",
            exit_code=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            duration_s=time.monotonic() - start,
        )


@pytest.fixture
def sandbox() -> RecordingSandbox:
    return RecordingSandbox()
