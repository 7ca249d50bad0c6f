"""The bench runner: cells, budget unit, sample pools, resume after a crash or a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ponder.benchmark.config import BenchConfig, load_bench_config
from ponder.benchmark.results import ResultsStore
from ponder.benchmark.runner import run_bench, task_cells
from ponder.benchmark.stats import pass_at_k
from ponder.errors import ConfigError
from tests.bench.fakes import ScriptedExecutor, TinyMath

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = ["greedy", "mcts", "best_of_n", "self_consistency", "pass_at_k"]


def _config(**kw) -> BenchConfig:
    base = {"scenario": "tinymath", "strategies": STRATEGIES, "budgets": [1, 2, 4], "model": "fake"}
    return BenchConfig(**(base | kw))


async def _run(tmp_path: Path, executor: ScriptedExecutor, **kw):
    return await run_bench(
        _config(**kw), tmp_path, scenario=TinyMath(), executor=executor, model_name="fake"
    )


async def test_every_cell_is_written_once_with_the_greedy_token_unit(tmp_path: Path) -> None:
    executor = ScriptedExecutor()
    result = await _run(tmp_path, executor)
    rows = ResultsStore(tmp_path).rows()
    assert result.cells == 4 * len(task_cells(_config())) == 4 * (1 + 4 * 3) == len(rows)
    assert len({r.key for r in rows}) == len(rows)
    mcts = {(r.task_id, r.budget): r for r in rows if r.strategy == "mcts"}
    # greedy spent 40 tokens per task, so budget B allows 40 * B completion tokens
    assert [mcts[("tiny/3", b)].budget_tokens for b in (1, 2, 4)] == [40, 80, 160]
    assert [mcts[("tiny/3", b)].correct for b in (1, 2, 4)] == [False, False, True]
    assert sorted(executor.pools) == [(f"tiny/{i}", 4) for i in range(4)]  # one pool per task
    assert {r.strategy for r in rows if r.source == "pool"} == {
        "best_of_n",
        "self_consistency",
        "pass_at_k",
    }


async def test_pool_budgets_follow_the_unbiased_estimator(tmp_path: Path) -> None:
    await _run(tmp_path, ScriptedExecutor())
    rows = {r.key: r for r in ResultsStore(tmp_path).rows()}
    # tiny/2's pool of 4 has 2 wrong samples first
    for k in (1, 2, 4):
        assert rows[("tiny/2", "pass_at_k", k)].score == pytest.approx(pass_at_k(4, 2, k))
    assert rows[("tiny/2", "pass_at_k", 1)].correct is False  # the first sample is wrong
    assert rows[("tiny/2", "pass_at_k", 4)].correct is True
    sc = rows[("tiny/2", "self_consistency", 4)]
    assert sc.score == 0.5 and sc.source == "pool" and sc.pool_size == 4  # a 2-2 tie
    assert rows[("tiny/1", "self_consistency", 4)].score == 1.0  # 3 right against 1 wrong
    assert rows[("tiny/1", "best_of_n", 2)].completion_tokens == 60


async def test_a_crash_mid_bench_resumes_without_redoing_finished_cells(tmp_path: Path) -> None:
    crashing = ScriptedExecutor(fail_after=9)
    with pytest.raises(ExceptionGroup):
        await _run(tmp_path, crashing)
    finished = ResultsStore(tmp_path).done()
    assert 0 < len(finished) < 52
    healthy = ScriptedExecutor()
    result = await _run(tmp_path, healthy)
    assert result.skipped == len(finished)
    rerun = set(healthy.calls)  # (task, strategy, token limit); greedy's limit is None
    for task_id, strategy, budget in finished:
        if strategy in ("greedy", "mcts"):
            assert (task_id, strategy, None if strategy == "greedy" else 40 * budget) not in rerun
    assert len(healthy.calls) + sum(1 for k in finished if k[1] in ("greedy", "mcts")) == 16
    assert len(ResultsStore(tmp_path).done()) == 52


async def test_errored_cells_are_recorded_and_retried_on_resume(tmp_path: Path) -> None:
    broken = ScriptedExecutor(ponder_error_on={("tiny/1", "mcts", 2)})
    await _run(tmp_path, broken)
    row = ResultsStore(tmp_path).latest()[("tiny/1", "mcts", 2)]
    assert row.error == "SandboxError: injected sandbox failure" and row.correct is False
    fixed = ScriptedExecutor()
    await _run(tmp_path, fixed)
    assert fixed.calls == [("tiny/1", "mcts", 80)]
    assert ResultsStore(tmp_path).latest()[("tiny/1", "mcts", 2)].error is None


async def test_a_bench_directory_refuses_other_settings(tmp_path: Path) -> None:
    await _run(tmp_path, ScriptedExecutor(), strategies=["greedy"])
    with pytest.raises(ConfigError, match="model: 'fake' -> 'other'") as err:
        await run_bench(
            _config(model="other"),
            tmp_path,
            scenario=TinyMath(),
            executor=ScriptedExecutor(),
            model_name="other",
        )
    assert "--out" in err.value.fix


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_fresh(tmp_path: Path) -> None:
    from ponder.benchmark.results import CellResult

    store = ResultsStore(tmp_path)
    row = CellResult(scenario="s", task_id="t", strategy="greedy", budget=1, correct=True, score=1)
    store.append(row)
    with store.path.open("a") as fh:
        fh.write('{"scenario": "s", "task_id": "t2", "strat')  # a kill mid-write
    assert [r.task_id for r in store.rows()] == ["t"]
    store.append(row.model_copy(update={"task_id": "t3"}))
    assert [r.task_id for r in store.rows()] == ["t", "t3"]


def test_bad_recipes_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'budgets'"):
        load_bench_config(scenario="gsm8k", budgets=[0, 2])
    recipe = tmp_path / "r.yaml"
    recipe.write_text("scenario: gsm8k\nstrategy: mcts\n")
    with pytest.raises(ConfigError, match="'strategy'") as err:
        load_bench_config(recipe)
    assert "strategies" in err.value.fix


async def test_unknown_strategies_are_rejected_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'beamz'"):
        await _run(tmp_path, ScriptedExecutor(), strategies=["greedy", "beamz"])
    assert not (tmp_path / "results.jsonl").exists()


_KILLABLE = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from ponder.benchmark.config import BenchConfig
from ponder.benchmark.runner import run_bench
from tests.bench.fakes import ScriptedExecutor, TinyMath
config = BenchConfig(scenario="tinymath", strategies=["greedy", "mcts"], budgets=[1, 2, 4, 8],
                     model="fake")
asyncio.run(run_bench(config, {out!r}, scenario=TinyMath(n=6), executor=ScriptedExecutor(delay=0.3),
                      model_name="fake", task_concurrency=1))
"""


async def test_a_killed_bench_process_resumes_where_it_stopped(tmp_path: Path) -> None:
    script = _KILLABLE.format(repo=str(REPO), out=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    results = tmp_path / "results.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.is_file() and len(results.read_text().splitlines()) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the bench ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = ResultsStore(tmp_path).done()
    assert 4 <= len(before) < 30
    executor = ScriptedExecutor()
    config = BenchConfig(
        scenario="tinymath", strategies=["greedy", "mcts"], budgets=[1, 2, 4, 8], model="fake"
    )
    result = await run_bench(
        config, tmp_path, scenario=TinyMath(n=6), executor=executor, model_name="fake"
    )
    assert result.skipped == len(before)
    assert len(executor.calls) == 30 - len(before)  # nothing finished was run again
    rows = ResultsStore(tmp_path).rows()
    assert len(rows) == 30 and len({r.key for r in rows}) == 30
    assert json.loads((tmp_path / "bench.json").read_text())["scenario"] == "tinymath"


@pytest.mark.parametrize(
    "recipe", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_recipes_are_valid(recipe: Path) -> None:
    from ponder.scenarios import known_scenarios

    config = load_bench_config(recipe)
    assert config.scenario in known_scenarios()
    assert config.budgets == sorted(config.budgets)


def test_cli_run_rejects_bad_budgets_before_opening_a_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ponder.cli import app

    res = CliRunner().invoke(
        app, ["bench", "run", "gsm8k", "--budgets", "1,x", "--out", str(tmp_path)]
    )
    assert isinstance(res.exception, ConfigError)
    assert "--budgets" in res.exception.message and "1,2,4,8,16" in res.exception.fix


async def test_llm_calls_in_flight_never_exceed_the_bound() -> None:
    import asyncio

    from ponder.benchmark.executor import bounded
    from ponder.benchmark.scheduling import OldestTaskFirst
    from ponder.llm.base import Generation, SamplingParams
    from ponder.llm.client import ModelClient
    from ponder.llm.scripted import ScriptedLLM

    class SlowLLM(ScriptedLLM):
        in_flight = peak = 0

        async def generate(self, messages, params) -> Generation:
            SlowLLM.in_flight += 1
            SlowLLM.peak = max(SlowLLM.peak, SlowLLM.in_flight)
            await asyncio.sleep(0.01)
            SlowLLM.in_flight -= 1
            return await super().generate(messages, params)

    client = bounded(ModelClient(SlowLLM(["ok"])), OldestTaskFirst(3))
    message = [{"role": "user", "content": "hi"}]
    await asyncio.gather(*(client.generate(message, SamplingParams()) for _ in range(12)))
    assert SlowLLM.peak == 3 and client.batches is True
    assert BenchConfig(scenario="x").llm_concurrency(batches=True) == 16
    assert BenchConfig(scenario="x").llm_concurrency(batches=False) == 1
    assert BenchConfig(scenario="x", concurrency=5).llm_concurrency(batches=False) == 5


async def test_a_resumed_bench_may_add_strategies_but_not_change_known_options(tmp_path) -> None:
    def bench(strategies, search):
        config = BenchConfig(scenario="tinymath", strategies=strategies, budgets=[1, 2],
                             model="fake", search=search)  # fmt: skip
        return run_bench(config, tmp_path, scenario=TinyMath(n=2), executor=ScriptedExecutor(),
                         model_name="fake")  # fmt: skip

    await bench(["greedy", "mcts"], {"mcts": {"k": 2}})
    added = await bench(["greedy", "mcts", "beam"], {"mcts": {"k": 2}, "beam": {"width": 2}})
    assert {r.strategy for r in added.written} == {"beam"}  # only the new cells ran
    manifest = json.loads((tmp_path / "bench.json").read_text())
    assert manifest["strategies"] == ["greedy", "mcts", "beam"]
    # Dropping beam from the command line does not forget its options.
    await bench(["greedy", "mcts"], {"mcts": {"k": 2}})
    assert json.loads((tmp_path / "bench.json").read_text())["search"]["beam"] == {"width": 2}
    for changed in ({"mcts": {"k": 3}}, {"mcts": {"k": 2}, "beam": {"width": 3}}, {}):
        with pytest.raises(ConfigError, match="other settings"):
            await bench(["greedy", "mcts", "beam"], changed)
    # Options for a strategy the bench has never run may be given as it is added.
    await bench(["greedy", "refine"], {"mcts": {"k": 2}, "beam": {"width": 2}, "refine": {"n": 1}})
