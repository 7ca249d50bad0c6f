"""Run a bench: every (task, strategy, budget) cell, concurrently, resumably, into results.jsonl."""

from __future__ import annotations

import asyncio
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ponder
from ponder.benchmark.config import MIN_UNIT_TOKENS, POOL_STRATEGIES, BenchConfig
from ponder.benchmark.executor import CellExecutor, CellSpec, PoolDraw
from ponder.benchmark.pool import derive, grade_pool, load_pools, save_pool
from ponder.benchmark.results import MANIFEST, CellKey, CellResult, ResultsStore
from ponder.benchmark.scheduling import task_rank
from ponder.benchmark.stats import PoolSample
from ponder.config import BudgetConfig
from ponder.errors import ConfigError, PonderError
from ponder.provenance import collect as collect_provenance
from ponder.scenarios.base import Scenario
from ponder.task import Task

GREEDY = "greedy"
OnCell = Callable[[CellResult], None]


def task_cells(config: BenchConfig) -> list[tuple[str, int]]:
    """The (strategy, budget) cells of one task. Greedy runs once, at budget 1: it is the unit."""
    cells = [(GREEDY, 1)]
    for strategy in config.strategies:
        if strategy != GREEDY:
            cells += [(strategy, b) for b in config.budgets]
    return cells


def check_strategies(config: BenchConfig) -> None:
    """Every strategy is a runtime strategy, or pass_at_k with the pool on."""
    from ponder.search import known_strategies

    known = set(known_strategies())
    for name in config.strategies:
        if name == "pass_at_k" and not config.pool:
            raise ConfigError("pass_at_k is derived from a sample pool", fix="drop --no-pool")
        if name not in known and name != "pass_at_k":
            raise ConfigError(
                f"unknown strategy {name!r} in --strategies",
                fix=f"use any of: {', '.join(sorted(known | {'pass_at_k'}))}",
            )


def versions(model: str) -> dict[str, str]:
    return {"ponder": ponder.__version__, "python": platform.python_version(), "model": model}


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def write_manifest(config: BenchConfig, out_dir: Path) -> None:
    """DIR/bench.json: the recipe; a resumed bench must match its identity.

    A resumed bench may add strategies, with their own options, or leave some out: the rows
    already written stay valid. The options of each strategy it runs that the bench already
    knew must stay the same; the manifest keeps every strategy and its options, so one
    left out and brought back later is still checked.
    """
    path = out_dir / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        old_strategies, old_search = old.get("strategies") or [], old.get("search") or {}
        mine = config.identity()
        theirs = {k: old.get(k) for k in mine}
        running = set(config.strategies) | set(config.search)
        known = sorted((set(old_strategies) | set(old_search)) & running)
        mine["search"] = {k: config.search.get(k, {}) for k in known}
        theirs["search"] = {k: old_search.get(k, {}) for k in known}
        if theirs != mine:
            diff = ", ".join(
                f"{k}: {theirs[k]!r} -> {mine[k]!r}" for k in mine if theirs[k] != mine[k]
            )
            raise ConfigError(
                f"{out_dir} holds a bench with other settings ({diff})",
                fix="resume with the same settings, or pass a new --out directory",
            )
        config = config.model_copy(update={
            "strategies": list(dict.fromkeys([*old_strategies, *config.strategies])),
            "search": old_search | config.search,
        })  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(config.model_dump_json(indent=2), encoding="utf-8")


@dataclass
class TaskBench:
    """The cells of one task: greedy first (it sets the budget unit), then the rest concurrently."""

    config: BenchConfig
    scenario: Scenario
    executor: CellExecutor
    out_dir: Path
    model_name: str
    sandbox: Any = None  # for grading pool samples
    provenance: dict[str, Any] = field(default_factory=dict)  # the same for every row

    def _row(self, task: Task, strategy: str, budget: int, **fields: Any) -> CellResult:
        return CellResult(
            scenario=self.scenario.name,
            task_id=task.id,
            strategy=strategy,
            budget=budget,
            seed=self.config.seed,
            versions=versions(self.model_name),
            provenance=self.provenance,
            **fields,
        )

    def _run_dir(self, task: Task, name: str) -> Path:
        return self.out_dir / "runs" / safe_name(task.id) / name

    async def _cell(self, task: Task, strategy: str, budget: int, unit: int | None) -> CellResult:
        options = dict(self.config.search.get(strategy, {}))
        if strategy in POOL_STRATEGIES:  # run directly only with --no-pool
            options.setdefault("n", budget)
        tokens = None if unit is None else budget * unit
        run_dir = self._run_dir(task, f"{strategy}-b{budget}")
        try:
            run = await self.executor.run(
                CellSpec(task, strategy, options, tokens, self.config.seed, run_dir)
            )
        except PonderError as exc:
            return self._row(
                task,
                strategy,
                budget,
                budget_tokens=tokens,
                correct=False,
                score=0.0,
                error=f"{type(exc).__name__}: {exc.message}",
            )
        s = run.spent
        return self._row(
            task,
            strategy,
            budget,
            budget_tokens=tokens,
            # The run's limits and spend, by Budget's names: over budget by more than one call
            # is spent.completion_tokens > max_completion_tokens + spent.largest_call_tokens.
            budget_limits=BudgetConfig(tokens=tokens).to_budget().limits(),
            spent=s.to_dict(),
            correct=run.grade.correct,
            score=float(run.grade.correct),
            grade=run.grade.details | {"graded": run.grade.graded},
            prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens,
            llm_calls=s.llm_calls,
            sandbox_runs=s.sandbox_runs,
            wall_s=round(run.wall_s, 3),
            run_dir=run.run_dir,
        )

    async def _pool(self, task: Task, n: int) -> tuple[list[PoolSample], PoolDraw]:
        """The task's graded pool of at least n samples: reused from pools.jsonl, else drawn."""
        stored = load_pools(self.out_dir).get(task.id)
        if stored is not None and len(stored[0]) >= n:
            return stored
        draw = await self.executor.draw_pool(
            task, n, self.config.seed, self._run_dir(task, f"pool-n{n}")
        )
        samples = await grade_pool(task, draw, self.scenario, self.sandbox)
        save_pool(self.out_dir, task.id, samples, draw)
        return samples, draw

    def _pool_rows(
        self, task: Task, samples: list[PoolSample], draw: PoolDraw, wanted: list[tuple[str, int]]
    ) -> list[CellResult]:
        rows = []
        for strategy in dict.fromkeys(s for s, _ in wanted):
            budgets = [b for s, b in wanted if s == strategy]
            for d in derive(
                strategy, task, samples, draw, budgets, self.config.pool_rounds, self.config.seed
            ):
                rows.append(self._row(
                    task, strategy, d.budget, correct=d.correct, score=d.score,
                    grade={"pool_correct": sum(s.correct for s in samples)},
                    prompt_tokens=d.prompt_tokens, completion_tokens=d.completion_tokens,
                    llm_calls=1, sandbox_runs=d.sandbox_runs, wall_s=round(d.wall_s, 3),
                    source="pool", pool_size=len(samples), run_dir=draw.run_dir,
                ))  # fmt: skip
        return rows

    async def run(self, task: Task, done: dict[CellKey, CellResult], emit: OnCell) -> None:
        """Run the task's unfinished cells, calling `emit` with each finished row."""
        greedy = done.get((task.id, GREEDY, 1))
        if greedy is None or greedy.error is not None:
            greedy = await self._cell(task, GREEDY, 1, None)
            emit(greedy)
        if greedy.error is not None:
            return  # no budget unit: the task's other cells wait for a resume
        unit = max(MIN_UNIT_TOKENS, greedy.completion_tokens)
        todo = [c for c in task_cells(self.config)[1:] if (task.id, *c) not in done]
        pooled = [c for c in todo if self.config.pool and c[0] in POOL_STRATEGIES]
        direct = [c for c in todo if c not in pooled]

        async def one(strategy: str, budget: int) -> None:
            emit(await self._cell(task, strategy, budget, unit))

        async with asyncio.TaskGroup() as group:
            for strategy, budget in direct:
                group.create_task(one(strategy, budget))
            if pooled:
                group.create_task(self._pooled(task, pooled, emit))

    async def _pooled(self, task: Task, wanted: list[tuple[str, int]], emit: OnCell) -> None:
        try:
            samples, draw = await self._pool(task, max(self.config.budgets))
        except PonderError as exc:
            for strategy, budget in wanted:
                emit(
                    self._row(
                        task,
                        strategy,
                        budget,
                        correct=False,
                        score=0.0,
                        source="pool",
                        error=f"{type(exc).__name__}: {exc.message}",
                    )
                )
            return
        for row in self._pool_rows(task, samples, draw, wanted):
            emit(row)


@dataclass
class BenchRun:
    """What `run_bench` did: the tasks, cells planned, cells skipped as done, and rows written."""

    out_dir: Path
    tasks: int
    cells: int
    skipped: int
    written: list[CellResult]


def select(config: BenchConfig, scenario: Scenario) -> list[Task]:
    return scenario.tasks(limit=config.limit, ids=config.ids or None, seed=config.shuffle_seed)


async def run_bench(
    config: BenchConfig,
    out_dir: str | Path,
    *,
    scenario: Scenario,
    executor: CellExecutor,
    model_name: str,
    sandbox: Any = None,
    task_concurrency: int = 2,
    on_start: Callable[[int, int], None] | None = None,
    on_cell: OnCell | None = None,
) -> BenchRun:
    """Run every unfinished cell of the bench; rows are appended to results.jsonl as they finish.

    `task_concurrency` bounds the tasks in flight (the LLM-call bound lives in the executor's
    model client). `on_start(total_cells, already_done)` and `on_cell(row)` drive a progress display.
    """
    check_strategies(config)
    out = Path(out_dir)
    write_manifest(config, out)
    store = ResultsStore(out)
    tasks = select(config, scenario)
    latest = store.latest()
    done = {k: r for k, r in latest.items() if r.error is None}
    cells = len(tasks) * len(task_cells(config))
    skipped = sum((t.id, *c) in done for t in tasks for c in task_cells(config))
    if on_start is not None:
        on_start(cells, skipped)
    written: list[CellResult] = []

    def emit(row: CellResult) -> None:
        store.append(row)
        written.append(row)
        if on_cell is not None:
            on_cell(row)

    where = sandbox if sandbox is not None else config.sandbox
    origin = collect_provenance(model_name, where).model_dump(mode="json")
    bench = TaskBench(config, scenario, executor, out, model_name, sandbox, origin)
    gate = asyncio.Semaphore(task_concurrency)

    async def one(rank: int, task: Task) -> None:
        async with gate:
            task_rank.set(rank)  # the model serves older tasks' calls first
            await bench.run(task, done, emit)

    async with asyncio.TaskGroup() as group:
        for rank, task in enumerate(tasks):
            group.create_task(one(rank, task))
    return BenchRun(out, len(tasks), cells, skipped, written)
