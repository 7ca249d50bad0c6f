"""Runners as plain host processes: rlimits and a temp dir, but NOT isolated (no Docker needed)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
from importlib import resources

from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.deployment import Deployment, Worker
from ponder.sandbox.pool import PooledSandbox
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
