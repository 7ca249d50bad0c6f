"""A math pool is drawn in the math mode the recipe gives its pool strategies; one pool serves
best_of_n, self_consistency and pass_at_k, so a recipe that gives them different modes fails
when it is loaded. Through the real executor, graph and local sandbox."""

from __future__ import annotations

import pytest

from ponder.benchmark.config import BenchConfig, load_bench_config
from ponder.benchmark.results import ResultsStore
from ponder.benchmark.session import run_local
from ponder.errors import ConfigError
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.scenarios.base import Scenario
from ponder.task import Task
from tests.math.scripted import CRASH, WRONG, PalResponder
from tests.search.scripted import math_task


class SumScenario(Scenario):
    name = "sum"

    def load(self) -> list[Task]:
        return [math_task()]


@pytest.mark.parametrize(("mode", "prose_calls"), [("pal", 0), ("mixed", 1)])
async def test_the_pool_is_drawn_in_the_recipes_math_mode(
    mode, prose_calls, monkeypatch, tmp_path
) -> None:
    from ponder.sandbox import open_sandbox

    monkeypatch.setattr("ponder.benchmark.session.get_scenario", lambda *a: SumScenario())
    monkeypatch.setattr("ponder.benchmark.runner.select", lambda c, s: s.load())
    config = BenchConfig(scenario="sum", strategies=["greedy", "self_consistency"],
                         budgets=[1, 4], model="scripted", sandbox="local",
                         search={"self_consistency": {"math_mode": mode}})  # fmt: skip
    # Programs alone print 43 or crash, so 43 wins; with prose samples (42) in turn, 42 does.
    llm = ScriptedLLM(PalResponder(programs=(WRONG, CRASH)))
    async with open_sandbox("local") as sandbox:
        await run_local(config, tmp_path, model=ModelClient(llm), sandbox=sandbox)
    prompts = [messages[-1]["content"] for messages, _ in llm.calls]
    assert sum("short Python program" not in p for p in prompts) == prose_calls
    rows = {(r.strategy, r.budget): r for r in ResultsStore(tmp_path).rows()}
    assert all(r.error is None for r in rows.values())
    assert rows[("self_consistency", 4)].correct is (mode == "mixed")


def test_pool_strategies_with_different_math_modes_fail_at_load() -> None:
    search = {"best_of_n": {"math_mode": "pal"}, "self_consistency": {"math_mode": "prose"}}
    with pytest.raises(ConfigError, match="different math modes") as raised:
        load_bench_config(scenario="gsm8k", search=search)
    assert "best_of_n: pal" in raised.value.message and "--no-pool" in raised.value.message
    # Without the pool each strategy runs on its own, in its own mode.
    assert load_bench_config(scenario="gsm8k", search=search, pool=False).search == search
