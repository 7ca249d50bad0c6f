"""`ponder bench --ray`: the same cells and resume on a local Ray instance started by the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.results import ResultsStore
from tests.bench.fakes import gold_math_components

ray = pytest.importorskip("ray")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray():
    """A one-machine Ray instance on loopback; workers import ponder and tests from the repo."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_bench_writes_the_same_results_and_resumes(local_ray, tmp_path: Path) -> None:
    from ponder.benchmark.ray_runner import run_ray

    config = BenchConfig(
        scenario="gsm8k",
        ids=["gsm8k/0", "gsm8k/1"],
        strategies=["greedy", "self_consistency", "mcts"],
        budgets=[1, 2],
        model="scripted",
        ray="local",
    )
    first = run_ray(config, tmp_path, components=gold_math_components)
    rows = {r.key: r for r in ResultsStore(tmp_path).rows()}
    assert first.cells == 2 * (1 + 2 * 2) == len(rows) == len(first.written)
    assert all(r.error is None for r in rows.values())
    # mcts at 1x greedy's tokens may spend them all on thoughts: then it honestly has no answer
    assert all(r.correct for k, r in rows.items() if k[1:] != ("mcts", 1)), list(rows.values())
    for task_id in ("gsm8k/0", "gsm8k/1"):
        row = rows[(task_id, "mcts", 1)]
        assert row.correct or row.grade["reason"] == "the run returned no solution"
        assert row.budget_tokens == max(32, rows[(task_id, "greedy", 1)].completion_tokens)
    assert rows[("gsm8k/1", "self_consistency", 2)].source == "pool"
    assert (tmp_path / "pools.jsonl").read_text().count("gsm8k/") == 2

    again = run_ray(config, tmp_path, components=gold_math_components)
    assert again.skipped == again.cells and again.written == []

    # Drop one task's non-greedy rows, as if the bench had been killed while it ran.
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    kept = [x for x in lines if '"gsm8k/1"' not in x or '"greedy"' in x]
    (tmp_path / "results.jsonl").write_text("\n".join(kept) + "\n")
    resumed = run_ray(config, tmp_path, components=gold_math_components)
    assert {(r.task_id, r.strategy) for r in resumed.written} == {
        ("gsm8k/1", "self_consistency"),
        ("gsm8k/1", "mcts"),
    }
    assert len(ResultsStore(tmp_path).done()) == first.cells
