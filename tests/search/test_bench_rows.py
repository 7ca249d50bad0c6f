"""A bench row records the budget its run had and what it spent, so a report can flag a cell
that went over (by more than one call: `spent.largest_call_tokens`)."""

from __future__ import annotations

from pathlib import Path

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.results import ResultsStore
from ponder.benchmark.runner import run_bench
from tests.bench.fakes import ScriptedExecutor, TinyMath


async def test_rows_record_the_budget_limits_and_the_spend(tmp_path: Path) -> None:
    config = BenchConfig(
        scenario="tinymath", strategies=["greedy", "mcts"], budgets=[1, 4], model="fake"
    )
    await run_bench(config, tmp_path, scenario=TinyMath(), executor=ScriptedExecutor(),
                    model_name="fake")  # fmt: skip
    rows = [r for r in ResultsStore(tmp_path).rows() if r.source == "run"]
    assert rows
    for row in rows:
        assert row.budget_limits["max_completion_tokens"] == row.budget_tokens
        assert set(row.budget_limits) >= {"max_total_tokens", "max_llm_calls", "max_sandbox_runs"}
        assert row.spent["completion_tokens"] == row.completion_tokens
        assert row.spent["llm_calls"] == row.llm_calls
        assert "largest_call_tokens" in row.spent and "total_tokens" in row.spent
    greedy = [r for r in rows if r.strategy == "greedy"]
    assert greedy and all(r.budget_limits["max_completion_tokens"] is None for r in greedy)
