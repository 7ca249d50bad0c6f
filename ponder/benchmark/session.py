"""Open the bench's model and sandbox from its recipe, bound LLM concurrency, and run it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.executor import RuntimeExecutor, bounded
from ponder.benchmark.runner import BenchRun, OnCell, run_bench, select
from ponder.benchmark.scheduling import OldestTaskFirst
from ponder.config import RunConfig
from ponder.llm.client import ModelClient
from ponder.sandbox.base import Sandbox
from ponder.scenarios import get_scenario


def needs_sandbox(config: BenchConfig) -> bool:
    """Code scenarios run programs; so does math, unless every strategy is told prose."""
    tasks = select(config, get_scenario(config.scenario, config.source))
    prose = all(config.search.get(s, {}).get("math_mode") == "prose" for s in config.strategies)
    return any(t.kind != "math" for t in tasks) or not prose


async def run_local(
    config: BenchConfig,
    out_dir: str | Path,
    *,
    model: ModelClient | None = None,
    sandbox: Sandbox | None = None,
    on_start=None,
    on_cell: OnCell | None = None,
) -> BenchRun:
    """Run the bench on this machine. `model`/`sandbox` default to the recipe's specs.

    Samples in flight are bounded by `config.llm_concurrency(model.batches)` and served
    oldest task first; twice as many tasks run at once, so a batching server always has
    requests from many tasks queued while others wait on the sandbox (as rStar-Math
    advances many trees per LLM round).
    """
    scenario = get_scenario(config.scenario, config.source)
    async with AsyncExitStack() as stack:
        if model is None:
            from ponder.llm import open_model

            model = open_model(config.model)
            stack.push_async_callback(model.aclose)
        if sandbox is None and needs_sandbox(config):
            from ponder.sandbox import open_sandbox

            sandbox = await stack.enter_async_context(open_sandbox(config.sandbox))
        limit = config.llm_concurrency(model.batches)
        client = bounded(model, OldestTaskFirst(limit))
        base = RunConfig(model=config.model, sandbox=config.sandbox)
        executor = RuntimeExecutor(
            client, sandbox, scenario, base, keep_runs=config.keep_runs, recipe=config.search
        )
        return await run_bench(
            config,
            out_dir,
            scenario=scenario,
            executor=executor,
            model_name=model.name,
            sandbox=sandbox,
            task_concurrency=2 * limit,
            on_start=on_start,
            on_cell=on_cell,
        )
