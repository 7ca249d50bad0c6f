"""`ponder bench report` and `compare` on synthetic results.jsonl files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ponder.benchmark.report import build_report, compare, compare_table
from ponder.benchmark.results import CellResult, ResultsStore
from ponder.cli import app
from ponder.errors import ConfigError


def _write(out: Path, outcomes: dict[tuple[str, int], list[bool]], tokens: int = 100) -> None:
    store = ResultsStore(out)
    for (strategy, budget), cells in outcomes.items():
        for i, ok in enumerate(cells):
            store.append(CellResult(
                scenario="humaneval", task_id=f"HumanEval/{i}", strategy=strategy, budget=budget,
                correct=ok, score=float(ok), completion_tokens=tokens * budget, prompt_tokens=50,
                llm_calls=budget, sandbox_runs=budget, wall_s=1.5,
                source="pool" if strategy != "mcts" and strategy != "greedy" else "run",
            ))  # fmt: skip


OUTCOMES = {
    ("greedy", 1): [True, False, False, False],
    ("best_of_n", 1): [True, False, False, False],
    ("best_of_n", 4): [True, True, False, False],
    ("pass_at_k", 4): [True, True, True, False],
    ("mcts", 1): [True, False, False, False],
    ("mcts", 4): [True, True, True, False],
}


def test_report_rebuilds_table_csv_and_plots(tmp_path: Path) -> None:
    _write(tmp_path, OUTCOMES)
    report = build_report(tmp_path)
    by_key = {(r.strategy, r.budget): r for r in report.summary}
    assert by_key[("mcts", 4)].accuracy == 0.75 and by_key[("mcts", 4)].correct == 3
    assert by_key[("best_of_n", 4)].completion_tokens == 400
    assert "| mcts | 4 | 4 | 75.0% | 3 | 400 |" in report.table
    by_budget = report.table.split("### Accuracy by budget on all 4 tasks")[1]
    assert "| strategy | budget 1 | budget 4 |" in by_budget
    assert "| mcts | 25.0% (100) | 75.0% (400) |" in by_budget
    assert "| greedy | 25.0% (100) |  |" in by_budget
    assert "| pass_at_k (oracle) |  | 75.0% (400) |" in by_budget
    assert (
        (tmp_path / "summary.csv").read_text().splitlines()[0].startswith("strategy,budget,tasks")
    )
    for name in ("accuracy_vs_tokens.png", "pass_at_k.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_rerun_cell_counts_once_and_success_beats_an_error(tmp_path: Path) -> None:
    _write(tmp_path, {("greedy", 1): [False]})
    store = ResultsStore(tmp_path)
    cell = {"scenario": "humaneval", "task_id": "HumanEval/0", "strategy": "greedy", "budget": 1}
    store.append(CellResult(**cell, correct=True, score=1.0))
    store.append(CellResult(**cell, correct=False, score=0.0, error="boom"))
    (row,) = build_report(tmp_path).summary
    assert (row.tasks, row.accuracy, row.errors) == (1, 1.0, 0)


def test_compare_shows_per_strategy_and_budget_differences(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, OUTCOMES)
    changed = dict(OUTCOMES) | {("mcts", 4): [True, True, True, True]}
    del changed[("pass_at_k", 4)]
    _write(b, changed, tokens=120)
    diffs = {(d.strategy, d.budget): d for d in compare(a, b)}
    assert diffs[("mcts", 4)].delta == pytest.approx(0.25) and diffs[("mcts", 4)].flipped == 1
    assert diffs[("greedy", 1)].delta == 0 and diffs[("greedy", 1)].tokens_b == 120
    assert diffs[("pass_at_k", 4)].accuracy_b is None and diffs[("pass_at_k", 4)].delta is None
    table = compare_table(list(diffs.values()), "a", "b")
    assert "| mcts | 4 | 75.0% | 100.0% | +25.0 | 400 | 480 | 1 |" in table


def test_cli_report_and_compare(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, OUTCOMES)
    _write(b, OUTCOMES)
    runner = CliRunner()
    res = runner.invoke(app, ["bench", "report", str(a)])
    assert res.exit_code == 0, res.output
    assert "75.0%" in res.output and "accuracy_vs_tokens.png" in res.output
    res = runner.invoke(app, ["bench", "compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert "+0.0" in res.output


def test_report_on_a_directory_without_results_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="results.jsonl does not exist") as err:
        build_report(tmp_path)
    assert "ponder bench" in err.value.fix


def test_a_partial_bench_gets_a_paired_table_and_failure_sources(tmp_path: Path) -> None:
    partial = dict(OUTCOMES)
    partial[("mcts", 4)] = [True, True]  # tasks 2 and 3 have not finished mcts@4
    _write(tmp_path, partial)
    store = ResultsStore(tmp_path)
    for i, pool_correct in enumerate([3, 2, 1, 0]):  # what each task's pool of 4 held
        store.append(CellResult(
            scenario="humaneval", task_id=f"HumanEval/{i}", strategy="self_consistency",
            budget=4, correct=i == 0, score=float(i == 0), source="pool",
            grade={"pool_correct": pool_correct},
        ))  # fmt: skip
    table = build_report(tmp_path).table
    paired = table.split("### The 2 tasks with every cell (paired)")[1]
    assert "| mcts | 4 | 2 | 100.0% | 2 |" in paired
    assert "| greedy | 1 | 2 | 50.0% | 1 |" in paired
    by_budget = table.split("### Accuracy by budget on the paired 2 tasks")[1]
    assert "| mcts | 50.0% (100) | 100.0% (400) |" in by_budget
    # Failures on the paired tasks 0 and 1: greedy fails task 1, whose pool held a correct one.
    assert "greedy@1: 1 failed; the pool held a correct sample for 1 of them" in table
    assert "self_consistency@4: 1 failed; the pool held a correct sample for 1" in table


def test_a_complete_bench_has_no_paired_table(tmp_path: Path) -> None:
    _write(tmp_path, OUTCOMES)
    assert "paired" not in build_report(tmp_path).table
