"""`ponder bench --ray ADDRESS`: one Ray task per benchmark task, same results files and resume.

The driver (this process) plans the cells, skips finished ones, submits one remote task per
benchmark task with unfinished cells, and appends each task's rows to results.jsonl as the
task returns. Workers open their own model and sandbox from the recipe (`--model` may name
a shared server, e.g. `openai:MODEL@http://host:8000/v1`, or a local model on the worker's
GPU). A killed bench loses only the tasks in flight; rerunning it resumes as locally.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.pool import POOLS
from ponder.benchmark.results import CellResult, ResultsStore
from ponder.benchmark.runner import (
    BenchRun,
    OnCell,
    TaskBench,
    check_strategies,
    select,
    task_cells,
    write_manifest,
)
from ponder.errors import ConfigError
from ponder.llm.client import ModelClient
from ponder.sandbox.base import Sandbox

Parts = tuple[ModelClient, Sandbox | None]
Components = Callable[[BenchConfig, bool], AbstractAsyncContextManager[Parts]]
"""Opens (model, sandbox) on a worker; must be picklable (a module-level function)."""


@asynccontextmanager
async def recipe_components(config: BenchConfig, needs_sandbox: bool):
    """The recipe's model and sandbox, opened on the worker."""
    from ponder.llm import open_model
    from ponder.sandbox import open_sandbox

    model = open_model(config.model)
    try:
        if needs_sandbox:
            async with open_sandbox(config.sandbox) as sandbox:
                yield model, sandbox
        else:
            yield model, None
    finally:
        await model.aclose()


async def _bench_one(
    config: BenchConfig,
    task_id: str,
    done_rows: list[str],
    pool_lines: list[str],
    components: Components,
) -> tuple[list[str], list[str]]:
    """On a worker: run one task's unfinished cells; return their rows and any new pool lines."""
    from ponder.benchmark.executor import RuntimeExecutor, bounded
    from ponder.benchmark.scheduling import OldestTaskFirst
    from ponder.config import RunConfig
    from ponder.scenarios import get_scenario

    scenario = get_scenario(config.scenario, config.source)
    task = next(t for t in scenario.load() if t.id == task_id)
    done = {r.key: r for r in (CellResult.model_validate_json(x) for x in done_rows)}
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ponder-ray-") as tmp:
        out = Path(tmp)
        (out / POOLS).write_text("".join(line + "\n" for line in pool_lines), encoding="utf-8")
        async with components(config, task.kind != "math") as (model, sandbox):
            limit = config.llm_concurrency(model.batches)
            client = bounded(model, OldestTaskFirst(limit))
            base = RunConfig(model=config.model, sandbox=config.sandbox)
            executor = RuntimeExecutor(
                client, sandbox, scenario, base, keep_runs=False, recipe=config.search
            )
            bench = TaskBench(config, scenario, executor, out, model.name, sandbox)
            await bench.run(task, done, lambda row: rows.append(row.model_dump_json()))
        new_pools = (out / POOLS).read_text(encoding="utf-8").splitlines()[len(pool_lines) :]
    return rows, new_pools


def _remote_entry(
    config_json: str,
    task_id: str,
    done_rows: list[str],
    pool_lines: list[str],
    components: Components,
) -> tuple[list[str], list[str]]:
    config = BenchConfig.model_validate_json(config_json)
    return asyncio.run(_bench_one(config, task_id, done_rows, pool_lines, components))


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--ray needs the `ray` package", fix="pip install ray (on the driver and every worker)"
        ) from None
    return ray


def _pool_lines(out: Path) -> dict[str, list[str]]:
    by_task: dict[str, list[str]] = {}
    path = out / POOLS
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                by_task.setdefault(json.loads(line)["task_id"], []).append(line)
            except (json.JSONDecodeError, KeyError):
                continue
    return by_task


def run_ray(
    config: BenchConfig,
    out_dir: str | Path,
    *,
    components: Components = recipe_components,
    on_start: Callable[[int, int], None] | None = None,
    on_cell: OnCell | None = None,
    remote_options: dict[str, Any] | None = None,
) -> BenchRun:
    """Run the bench's unfinished cells on the Ray cluster at `config.ray` (or the one already
    initialized in this process), appending rows to DIR/results.jsonl as tasks finish."""
    from ponder.benchmark.results import append_line
    from ponder.scenarios import get_scenario

    ray = _ray()
    check_strategies(config)
    out = Path(out_dir)
    write_manifest(config, out)
    if not ray.is_initialized():
        ray.init(address=config.ray, log_to_driver=False)
    store = ResultsStore(out)
    tasks = select(config, get_scenario(config.scenario, config.source))
    done = {k: r for k, r in store.latest().items() if r.error is None}
    cells = task_cells(config)
    skipped = sum((t.id, *c) in done for t in tasks for c in cells)
    if on_start is not None:
        on_start(len(tasks) * len(cells), skipped)
    remote = ray.remote(**(remote_options or {"num_cpus": 1}))(_remote_entry)
    pools = _pool_lines(out)
    config_json = config.model_dump_json()
    pending = {}
    for task in tasks:
        if all((task.id, *c) in done for c in cells):
            continue
        mine = [r.model_dump_json() for k, r in done.items() if k[0] == task.id]
        ref = remote.remote(config_json, task.id, mine, pools.get(task.id, []), components)
        pending[ref] = task.id
    written: list[CellResult] = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            pending.pop(ref)
            rows, new_pools = ray.get(ref)
            for line in new_pools:
                append_line(out / POOLS, line)
            for line in rows:
                row = CellResult.model_validate_json(line)
                store.append(row)
                written.append(row)
                if on_cell is not None:
                    on_cell(row)
    return BenchRun(out, len(tasks), len(tasks) * len(cells), skipped, written)
