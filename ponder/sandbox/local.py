"""Runners as plain host processes: rlimits and a temp dir, but NOT isolated (no Docker needed)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.deployment import Deployment, Worker, check_extra_dirs
from ponder.sandbox.pool import PooledSandbox
from ponder.sandbox.protocol import HEADER, decode_body, encode_frame, run_request, to_result
from ponder.sandbox.runtime import RunnerLost, RunnerRuntime
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
        self._tree_slots = itertools.count(1 << 20)  # apart from the pool's slots

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

    async def run_in_tree(
        self,
        job: Job,
        tree: Path,
        *,
        root_owned: Callable[[str], bool] | None = None,
        extra_dirs: dict[str, dict[str, str]] | None = None,
    ) -> ExecResult:
        """A fresh host runner in a temp copy of `tree` (NOT isolated: `root_owned` files and
        the extra directories are only read-only, which the job's user may undo).

        `python` / `python3` (the job's and whatever it starts, e.g. a test command) mean this
        deployment's interpreter: a directory of shims leads the job's PATH.
        """
        if self.root is None:
            raise SandboxError(
                "LocalDeployment.run_in_tree before start", fix="await sandbox.start()"
            )
        extra = check_extra_dirs(extra_dirs)
        base = Path(tempfile.mkdtemp(prefix="tree-", dir=self.root))
        try:
            work = base / "work"
            await asyncio.to_thread(_lay_out, tree, work, base, extra, root_owned, self.python)
            path = job.env.get("PATH") or os.environ.get("PATH", "/usr/bin:/bin")
            env = {**job.env, "PATH": f"{base / '.bin'}{os.pathsep}{path}"}
            job = job.model_copy(update={"env": env})
            worker = await self.spawn(next(self._tree_slots))
            try:
                return (await worker.runtime.execute(job, cwd=str(work))).result
            except RunnerLost as exc:
                return ExecResult(status="sandbox_error", note=f"the local runner was lost: {exc}")
            finally:
                await self.destroy(worker)
        finally:
            await asyncio.to_thread(_remove, base)

    async def stop(self) -> None:
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _lay_out(
    tree: Path,
    work: Path,
    base: Path,
    extra: dict[str, dict[str, str]],
    root_owned: Callable[[str], bool] | None,
    python: str,
) -> None:
    """`tree` copied to `work`, the extra directories and the python shims beside it."""
    shutil.copytree(tree, work, symlinks=True)
    if root_owned is not None:
        for path in work.rglob("*"):
            if (
                path.is_file()
                and not path.is_symlink()
                and root_owned(path.relative_to(work).as_posix())
            ):
                path.chmod(path.stat().st_mode & ~0o222)
    for name, files in extra.items():
        directory = base / name
        directory.mkdir()
        for file, text in files.items():
            (directory / file).write_text(text, encoding="utf-8")
            (directory / file).chmod(0o444)
        directory.chmod(0o555)
    shims = base / ".bin"
    shims.mkdir()
    for name in ("python", "python3"):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(python)} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)


def _remove(base: Path) -> None:
    """Remove a tree run's directory, read-only parts included."""
    for root, dirs, _ in os.walk(base):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IRWXU)
    shutil.rmtree(base, ignore_errors=True)


class LocalSandbox(PooledSandbox):
    """The pool over host processes; every run logs and notes that it is not isolated."""

    async def run(self, job: Job) -> ExecResult:
        log.warning(NOT_ISOLATED)
        result = await super().run(job)
        note = f"{result.note}; {NOT_ISOLATED}" if result.note else NOT_ISOLATED
        return result.model_copy(update={"note": note})

    async def run_in_tree(self, job: Job, tree: Path, **options) -> ExecResult:
        log.warning(NOT_ISOLATED)
        result = await super().run_in_tree(job, tree, **options)
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
