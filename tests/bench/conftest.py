"""Fixtures for the bench tests: a local sandbox, a tiny code scenario and a scripted model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ponder.sandbox.base import ExecResult, Job, Sandbox


class SubprocessSandbox(Sandbox):
    """Runs a job's code in a plain subprocess (trusted benchmark data only; tests only)."""

    isolated = False

    async def run(self, job: Job) -> ExecResult:
        return await asyncio.to_thread(self._run, job)

    def _run(self, job: Job) -> ExecResult:
        if job.judge:  # tests run under the judge: the project's own runner, on the host
            from ponder.sandbox.local import run_once

            return run_once(job)
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            main = Path(tmp) / "main.py"
            main.write_text(job.code or "")
            try:
                proc = subprocess.run(
                    [sys.executable, str(main)],
                    input=job.stdin,
                    capture_output=True,
                    text=True,
                    timeout=job.limits.timeout_s,
                    cwd=tmp,
                )
            except subprocess.TimeoutExpired:
                return ExecResult(status="timeout", duration_s=time.monotonic() - start)
        return ExecResult(
            status="ok" if proc.returncode == 0 else "error",
            exit_code=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            duration_s=time.monotonic() - start,
        )


def local_sandbox() -> Sandbox:
    """The project's local sandbox when it exists, else the subprocess one above."""
    try:
        from ponder.sandbox import open_sandbox
    except ImportError:
        return SubprocessSandbox()
    return open_sandbox("local")


@pytest.fixture
def sandbox() -> Sandbox:
    return local_sandbox()
