"""The repair bench: every scenario under each strategy at the same token budget, as a table."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ponder.budget import Budget
from ponder.llm.client import ModelClient
from ponder.repair.runner import repair
from ponder.repair.task import RepairTask, load_scenarios
from ponder.repair.testing import CachingRunner

DEFAULT_STRATEGIES = ("single", "best_of_n", "refine", "mcts")


class BenchRow(BaseModel):
    scenario: str
    bug_kind: str | None = None
    strategy: str
    resolved: bool
    graded: bool | None = None
    tokens: int = 0
    llm_calls: int = 0
    test_runs: int = 0
    nodes: int = 0
    seconds: float = 0.0
    error: str | None = None


async def run_bench(
    client: ModelClient,
    make_runner: Callable[[], CachingRunner],
    *,
    scenarios: list[RepairTask] | None = None,
    scenarios_dir: str | Path | None = None,
    strategies: tuple[str, ...] | list[str] = DEFAULT_STRATEGIES,
    budget_tokens: int = 40_000,
    options: dict[str, dict[str, Any]] | None = None,
    chooser_factory: Callable[[Budget], Any] | None = None,
    out_dir: str | Path | None = None,
    on_row: Callable[[BenchRow], None] | None = None,
) -> list[BenchRow]:
    """Run each (scenario, strategy) with a fresh Budget(max_total_tokens=budget_tokens)."""
    tasks = (
        scenarios if scenarios is not None else load_scenarios(scenarios_dir or "scenarios/repair")
    )
    rows: list[BenchRow] = []
    for task in tasks:
        for strategy in strategies:
            budget = Budget(max_total_tokens=budget_tokens)
            start = time.monotonic()
            run_dir = Path(out_dir) / task.id / strategy if out_dir else None
            try:
                result = await repair(
                    task,
                    client,
                    make_runner(),
                    strategy=strategy,
                    options=(options or {}).get(strategy),
                    budget=budget,
                    chooser=chooser_factory(budget) if chooser_factory else None,
                    out_dir=run_dir,
                )
                spent = budget.spent
                row = BenchRow(
                    scenario=task.id,
                    bug_kind=task.spec.metadata.get("bug_kind"),
                    strategy=strategy,
                    resolved=result.resolved,
                    graded=result.grade.get("resolved") if result.grade else None,
                    tokens=spent.total_tokens,
                    llm_calls=spent.llm_calls,
                    test_runs=spent.sandbox_runs,
                    nodes=result.nodes,
                    seconds=round(time.monotonic() - start, 1),
                )
            except Exception as exc:  # noqa: BLE001 - one broken run must not end the bench
                row = BenchRow(
                    scenario=task.id,
                    strategy=strategy,
                    resolved=False,
                    seconds=round(time.monotonic() - start, 1),
                    error=repr(exc)[:300],
                )
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def summarize(rows: list[BenchRow]) -> list[dict[str, Any]]:
    """Per strategy: solved / total, mean tokens, mean seconds."""
    out = []
    for strategy in dict.fromkeys(r.strategy for r in rows):
        mine = [r for r in rows if r.strategy == strategy]
        out.append(
            {
                "strategy": strategy,
                "solved": sum(1 for r in mine if r.graded or (r.graded is None and r.resolved)),
                "total": len(mine),
                "mean_tokens": round(sum(r.tokens for r in mine) / len(mine)),
                "mean_seconds": round(sum(r.seconds for r in mine) / len(mine), 1),
            }
        )
    return out
