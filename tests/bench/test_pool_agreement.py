"""Code pools drawn with generated tests: self_consistency votes by behaviour inside each subset,
and every budget pays for writing the tests. Through the real executor, graph and sandbox."""

from __future__ import annotations

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.executor import PoolDraw
from ponder.benchmark.pool import derive
from ponder.benchmark.results import ResultsStore
from ponder.benchmark.session import run_local
from ponder.benchmark.stats import PoolSample, by_agreement
from ponder.budget import Spend
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.scenarios.base import Scenario
from ponder.task import Task
from tests.search.test_generated_tests import CLIPPED, RIGHT_A, RIGHT_B, AbsResponder, abs_task


class AbsScenario(Scenario):
    name = "absolute"

    def load(self) -> list[Task]:
        return [abs_task()]


def sample(answer: str, behaviour: str | None, correct: bool, matched: int = 0) -> PoolSample:
    # Every program text differs: a text vote would tie; only behaviour groups them.
    return PoolSample(score=1.0, correct=correct, answer=answer, behaviour=behaviour,
                      matched=matched, checked=4, public=(True,))  # fmt: skip


def test_agreement_groups_form_inside_the_subset() -> None:
    pool = [sample("a", "bug", False), sample("b", "bug", False), sample("c", "ok", True, 4)]
    # All three: the bug's 2 x (1 + 0) loses to ok's 1 x (1 + 4); the two bugs alone pick a bug.
    assert [s.correct for s in by_agreement(pool)] == [True]
    assert [s.correct for s in by_agreement(pool[:2])] == [False, False]
    # A sample the generated tests could not run scores 0 and loses to any that ran.
    assert by_agreement([sample("d", None, True), pool[0]]) == [pool[0]]


async def bench_abs(monkeypatch, out, strategies, search, responder) -> ScriptedLLM:
    """Run the bench on the absolute-value task, budgets 1 and 3, in the local sandbox."""
    from ponder.sandbox import open_sandbox

    monkeypatch.setattr("ponder.benchmark.session.get_scenario", lambda *a: AbsScenario())
    monkeypatch.setattr("ponder.benchmark.runner.select", lambda c, s: s.load())
    config = BenchConfig(scenario="absolute", strategies=strategies, budgets=[1, 3],
                         model="scripted", sandbox="local", search=search)  # fmt: skip
    llm = ScriptedLLM(responder)
    async with open_sandbox("local") as sandbox:
        await run_local(config, out, model=ModelClient(llm), sandbox=sandbox)
    return llm


async def test_code_pool_votes_by_behaviour_and_charges_the_suite(monkeypatch, tmp_path) -> None:
    llm = await bench_abs(
        monkeypatch, tmp_path, ["greedy", "best_of_n", "self_consistency"],
        {"self_consistency": {"verifiers": ["tests", "generated_tests"]}},
        AbsResponder(samples=(CLIPPED, RIGHT_A, RIGHT_B)),
    )  # fmt: skip
    rows = {(r.strategy, r.budget): r for r in ResultsStore(tmp_path).rows()}
    assert all(r.error is None for r in rows.values())
    # Every sample passes the weak public test: best_of_n picks the first, the clipped bug.
    assert rows[("best_of_n", 3)].correct is False
    # abs and its rewrite behave alike and match the expected values: they win the vote.
    assert rows[("self_consistency", 3)].correct is True
    assert rows[("self_consistency", 3)].score == 1.0
    # The suite is written once per pool.
    suite_calls = [
        m for m, _ in llm.calls if "test inputs for the Python function" in m[-1]["content"]
    ]
    assert len(suite_calls) == 1
    # Only the vote that used the suite pays for its calls, at every budget, in full.
    one, three = rows[("self_consistency", 1)], rows[("self_consistency", 3)]
    sample_tokens = (three.completion_tokens - one.completion_tokens) / 2
    assert one.completion_tokens > sample_tokens > 0
    assert rows[("best_of_n", 1)].completion_tokens == round(sample_tokens)


async def test_best_of_n_in_a_pool_refuses_a_verifier_that_sees_the_whole_pool(
    monkeypatch, tmp_path
) -> None:
    llm = await bench_abs(
        monkeypatch, tmp_path, ["greedy", "best_of_n"],
        {"best_of_n": {"verifiers": ["tests", "generated_tests"]}}, AbsResponder(),
    )  # fmt: skip
    rows = [r for r in ResultsStore(tmp_path).rows() if r.strategy == "best_of_n"]
    assert len(rows) == 2
    assert all("cannot pick by 'generated_tests'" in (r.error or "") for r in rows)
    assert len(llm.calls) == 1  # greedy only: nothing was drawn


def test_pools_without_behaviours_still_vote_by_text() -> None:
    task = abs_task()
    pool = [PoolSample(score=1.0, correct=c, answer=a) for a, c in [("x", False), ("x", False),
                                                                    ("y", True)]]  # fmt: skip
    draw = PoolDraw([], Spend(completion_tokens=0), 0.0)
    (cell,) = derive("self_consistency", task, pool, draw, [3])
    assert cell.correct is False and cell.completion_tokens == 0
