"""Which bench call the model serves next: the oldest task's first, weighted by its samples.

First come first served starved tree searches: a pool asks for 8 samples in one call, and
with 32 tasks in flight an mcts chain's every next call queued behind all their pools, so
few tree-search cells finished before a stop. The gate below counts sequences (samples)
in flight, as a batching engine does, and admits waiting calls by the rank of their task
(its place in the bench), so tasks finish roughly in order and a stopped bench leaves
complete tasks to compare, while later tasks still fill whatever capacity is spare.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

task_rank: contextvars.ContextVar[int] = contextvars.ContextVar("task_rank", default=0)
"""The place of the task a call serves (set by the bench around each task's cells)."""


class OldestTaskFirst:
    """At most `capacity` sequences in flight; the waiting call of the lowest task rank goes first.

    A call needs `min(samples, capacity)` units. The head waiter is never overtaken by a
    smaller one behind it, so a pool of the oldest task is not starved by later chains.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.free = capacity
        self._waiting: list[tuple[int, int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @asynccontextmanager
    async def hold(self, samples: int) -> AsyncIterator[None]:
        units = max(1, min(samples, self.capacity))
        await self._acquire(units)
        try:
            yield
        finally:
            self.free += units
            self._wake()

    async def _acquire(self, units: int) -> None:
        if not self._waiting and self.free >= units:
            self.free -= units
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (task_rank.get(), next(self._arrival), units, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.free += units  # granted as it was cancelled: give the units back
            self._waiting = [w for w in self._waiting if w[3] is not granted]
            heapq.heapify(self._waiting)
            self._wake()
            raise

    def _wake(self) -> None:
        while self._waiting and self.free >= self._waiting[0][2]:
            _, _, units, granted = heapq.heappop(self._waiting)
            if granted.done():
                continue
            self.free -= units
            granted.set_result(None)
