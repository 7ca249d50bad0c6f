"""A Sandbox over a pool of runners: idle queue, replacement of lost runners, one retry."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job, Sandbox
from ponder.sandbox.deployment import Deployment, Worker
from ponder.sandbox.runtime import RunnerLost

log = logging.getLogger(__name__)


def default_pool_size() -> int:
    return os.cpu_count() or 1


class PooledSandbox(Sandbox):
    """Runs each job on an idle runner of `deployment`; a lost runner is replaced, the job retried once."""

    def __init__(self, deployment: Deployment, pool_size: int | None = None) -> None:
        size = pool_size if pool_size is not None else default_pool_size()
        if size < 1:
            raise SandboxError(f"pool_size={size} is not positive", fix="pass pool_size >= 1")
        self.deployment = deployment
        self.isolated = deployment.isolated
        self.size = size
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._workers: set[Worker] = set()
        self._slots = iter(range(1 << 30))
        self._start_lock = asyncio.Lock()
        self._started = False
        self._deployed = False  # deployment.start() done (a tree run needs no pool)
        self._closed = False
        self._tasks: set[asyncio.Task] = set()

    def describe(self) -> str:
        return self.deployment.describe()

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this sandbox was closed", fix="open a new one with open_sandbox()")

    async def _deploy(self) -> None:
        """Start the deployment (not the pool); call under `_start_lock`."""
        self._check_open()
        if not self._deployed:
            await self.deployment.start()
            self._deployed = True

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            await self._deploy()
            spawned = await asyncio.gather(
                *(self._spawn() for _ in range(self.size)), return_exceptions=True
            )
            errors = [item for item in spawned if isinstance(item, BaseException)]
            if errors:
                await self.close()
                raise errors[0]
            self._started = True

    async def _spawn(self) -> Worker:
        worker = await self.deployment.spawn(next(self._slots))
        self._workers.add(worker)
        self._idle.put_nowait(worker)
        return worker

    async def _discard(self, worker: Worker) -> None:
        self._workers.discard(worker)
        await self.deployment.destroy(worker)

    async def _replace(self, worker: Worker) -> None:
        """Destroy a broken runner and start a new one in its place."""
        await self._discard(worker)
        if self._closed:
            return
        try:
            await self._spawn()
        except Exception as exc:  # noqa: BLE001 - the pool shrinks; run() reports if it is empty
            log.error("could not replace sandbox runner %s: %s", worker.name, exc)

    async def _checkout(self) -> Worker:
        if not self._workers and not self._closed:
            await self._spawn()  # everything was lost: one more try, or a clear SandboxError
        return await self._idle.get()

    async def _attempt(self, job: Job) -> ExecResult:
        worker = await self._checkout()
        try:
            answer = await worker.runtime.execute(job)
        except RunnerLost:
            await self._replace(worker)
            raise
        except BaseException:
            self._background(self._replace(worker))  # cancelled mid-job: state unknown
            raise
        if answer.dirty:
            self._background(self._replace(worker))
        else:
            self._idle.put_nowait(worker)
        return answer.result

    def _background(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, job: Job) -> ExecResult:
        if not self._started:
            await self.start()
        try:
            return await self._attempt(job)
        except RunnerLost as first:
            log.warning("sandbox runner lost (%s); retrying the job once on a fresh one", first)
            try:
                result = await self._attempt(job)
            except RunnerLost as second:
                return ExecResult(
                    status="sandbox_error",
                    retried=True,
                    note=f"runner lost twice: {first}; then {second}",
                )
            return result.model_copy(update={"retried": True})

    async def run_in_tree(
        self,
        job: Job,
        tree: Path,
        *,
        root_owned: Callable[[str], bool] | None = None,
        extra_dirs: dict[str, dict[str, str]] | None = None,
    ) -> ExecResult:
        """A one-off runner of the deployment holding a copy of `tree` (not a pooled one)."""
        if not self._deployed:
            async with self._start_lock:
                await self._deploy()
        self._check_open()
        return await self.deployment.run_in_tree(
            job, tree, root_owned=root_owned, extra_dirs=extra_dirs
        )

    async def close(self) -> None:
        self._closed = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        workers = list(self._workers)
        self._workers.clear()
        await asyncio.gather(*(self.deployment.destroy(w) for w in workers), return_exceptions=True)
        await self.deployment.stop()
        self._started = False
        self._deployed = False
