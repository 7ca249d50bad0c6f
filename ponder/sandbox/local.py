"""Runners as plain host processes: rlimits and a temp dir, but NOT isolated (no Docker needed)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources

from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.deployment import Deployment, Worker
from ponder.sandbox.pool import PooledSandbox
from ponder.sandbox.protocol import HEADER, decode_body, encode_frame, run_request, to_result
from ponder.sandbox.runtime import RunnerRuntime
from ponder.sandbox.transport import StreamTransport

log = logging.getLogger(__name__)

NOT_ISOLATED = (
    "local sandbox: NOT isolated - the job ran as this user on this host, with its network "
    "and files (only rlimits and a temp dir applied)"
)


class LocalDeployment(Deployment):
    """Each runner is a host subprocess (`runner.py --local`) with an empty environment."""

    name = "local"
    isolated = False

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self.root: str | None = None

    async def start(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ponder-local-sandbox-")

    async def spawn(self, slot: int) -> Worker:
        scratch = tempfile.mkdtemp(prefix=f"runner{slot}-", dir=self.root)
        runner = str(resources.files("ponder.sandbox").joinpath("runner.py"))
        process = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            runner,
            "--local",
            "--scratch",
            scratch,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )
        runtime = RunnerRuntime(StreamTransport(process.stdout, process.stdin))  # type: ignore[arg-type]
        await runtime.ping()
        return Worker(f"local:{process.pid}", runtime, process)

    async def destroy(self, worker: Worker) -> None:
        process: asyncio.subprocess.Process = worker.handle
        try:
            await worker.runtime.close()
            if process.returncode is None:
                process.kill()
            await process.wait()
        except (ProcessLookupError, OSError):
            pass

    async def stop(self) -> None:
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


class LocalSandbox(PooledSandbox):
    """The pool over host processes; every run logs and notes that it is not isolated."""

    async def run(self, job: Job) -> ExecResult:
        log.warning(NOT_ISOLATED)
        result = await super().run(job)
        note = f"{result.note}; {NOT_ISOLATED}" if result.note else NOT_ISOLATED
        return result.model_copy(update={"note": note})


def run_once(job: Job, python: str | None = None) -> ExecResult:
    """One job on a fresh local runner, blocking (test doubles that run judged jobs on the host).

    NOT isolated, like LocalSandbox; the same runner, judge and protocol as the pool.
    """
    runner = str(resources.files("ponder.sandbox").joinpath("runner.py"))
    secret = job.secret.encode() if job.judge else b""
    frame = encode_frame(run_request(job, 1)) + secret
    with tempfile.TemporaryDirectory(prefix="ponder-once-") as scratch:
        process = subprocess.Popen(
            [python or sys.executable, "-I", runner, "--local", "--scratch", scratch],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(frame, timeout=job.limits.timeout_s + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return ExecResult(status="sandbox_error", note="the local runner did not answer")
    if len(out) < HEADER.size:
        return ExecResult(status="sandbox_error", note="the local runner died")
    (size,) = HEADER.unpack(out[: HEADER.size])
    answer = decode_body(out[HEADER.size : HEADER.size + size])
    report = out[HEADER.size + size : HEADER.size + size + int(answer.get("report_bytes") or 0)]
    answer["report"] = report.decode("utf-8", errors="replace")
    return to_result(answer)
