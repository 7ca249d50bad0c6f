"""The quick-start demo: solve a few real HumanEval tasks with the embedded model in the sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ponder.config import BudgetConfig, RunConfig
from ponder.llm import open_model
from ponder.runner import RunResult, solve_task
from ponder.sandbox import open_sandbox
from ponder.scenarios import resolve_task

DEMO_TASKS = ("humaneval/HumanEval/0", "humaneval/HumanEval/2", "humaneval/HumanEval/10")


def fresh_out_dir(root: Path) -> Path:
    """A run root under `root` that no earlier demo used, so `make demo` can be run again."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, n = root / stamp, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{n}"
    return candidate


@dataclass
class DemoOutcome:
    ref: str
    result: RunResult


async def run_demo(
    refs: tuple[str, ...] = DEMO_TASKS,
    *,
    model: str = "local",
    strategy: str = "mcts",
    budget_tokens: int = 3000,
    out_root: Path = Path("runs/demo"),
    on_result: Callable[[DemoOutcome], None] | None = None,
) -> list[DemoOutcome]:
    """Solve each task with `strategy`, grade it on the hidden tests, and report each outcome."""
    config = RunConfig(strategy=strategy, model=model, budget=BudgetConfig(tokens=budget_tokens))
    client = open_model(model, cache=True)
    outcomes = []
    try:
        async with open_sandbox("docker") as sandbox:
            for ref in refs:
                task = resolve_task(ref)
                out_dir = out_root / ref.replace("/", "_")
                result = await solve_task(
                    task, config, model=client, sandbox=sandbox, out_dir=out_dir
                )
                outcome = DemoOutcome(ref, result)
                outcomes.append(outcome)
                if on_result is not None:
                    on_result(outcome)
    finally:
        await client.aclose()
    return outcomes
