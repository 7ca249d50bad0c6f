"""The bench's model gate: samples in flight are bounded and the oldest task's calls go first."""

from __future__ import annotations

import asyncio

import pytest

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.runner import run_bench
from ponder.benchmark.scheduling import OldestTaskFirst, task_rank
from tests.bench.fakes import ScriptedExecutor, TinyMath


async def _queue(gate: OldestTaskFirst, rank: int, samples: int, served: list[int]) -> None:
    task_rank.set(rank)
    async with gate.hold(samples):
        served.append(rank)
        await asyncio.sleep(0)


async def test_waiting_calls_are_served_by_task_rank_not_arrival() -> None:
    gate, served = OldestTaskFirst(1), []
    async with gate.hold(1):  # the model is busy while three calls arrive, youngest first
        waiters = [asyncio.create_task(_queue(gate, r, 1, served)) for r in (5, 1, 3)]
        await asyncio.sleep(0.01)
        assert served == []
    await asyncio.gather(*waiters)
    assert served == [1, 3, 5]


async def test_capacity_counts_samples_and_a_pool_is_not_overtaken() -> None:
    gate, served = OldestTaskFirst(4), []
    async with gate.hold(3):
        assert gate.free == 1
        # rank 0 wants a pool of 8 (capped at the 4 units); rank 2 wants one sample, which
        # would fit now, but must not overtake the older pool at the head of the queue.
        waiters = [
            asyncio.create_task(_queue(gate, 0, 8, served)),
            asyncio.create_task(_queue(gate, 2, 1, served)),
        ]
        await asyncio.sleep(0.01)
        assert served == [] and gate.free == 1
    await asyncio.gather(*waiters)
    assert served == [0, 2] and gate.free == 4


async def test_a_cancelled_waiter_gives_its_place_and_units_back() -> None:
    gate, served = OldestTaskFirst(2), []
    async with gate.hold(2):
        doomed = asyncio.create_task(_queue(gate, 0, 2, served))
        later = asyncio.create_task(_queue(gate, 1, 1, served))
        await asyncio.sleep(0.01)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
    await later
    assert served == [1] and gate.free == 2


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        OldestTaskFirst(0)


class RankRecorder(ScriptedExecutor):
    """Records the task rank each cell's model calls would be scheduled under."""

    def __init__(self) -> None:
        super().__init__()
        self.ranks: dict[str, set[int]] = {}

    async def run(self, cell):
        self.ranks.setdefault(cell.task.id, set()).add(task_rank.get())
        return await super().run(cell)

    async def draw_pool(self, task, n, seed, run_dir):
        self.ranks.setdefault(task.id, set()).add(task_rank.get())
        return await super().draw_pool(task, n, seed, run_dir)


async def test_the_bench_schedules_each_task_by_its_place(tmp_path) -> None:
    config = BenchConfig(scenario="tinymath", strategies=["greedy", "best_of_n", "mcts"],
                         budgets=[1, 2])  # fmt: skip
    executor = RankRecorder()
    await run_bench(config, tmp_path, scenario=TinyMath(n=4), executor=executor,
                    model_name="scripted", task_concurrency=4)  # fmt: skip
    assert executor.ranks == {f"tiny/{i}": {i} for i in range(4)}
