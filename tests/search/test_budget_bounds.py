"""Budgets hold: no run spends more than its token limit plus one call's max_tokens, and LLM
calls and sandbox runs never pass theirs, verifier calls (judge, tests) included."""

from __future__ import annotations

import asyncio

import pytest

from ponder.budget import Budget
from ponder.config import RunConfig
from ponder.errors import BudgetExhausted
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.runner import solve_task
from ponder.search import known_strategies
from ponder.search.metered import Meter
from tests.search.conftest import FakeVerifier, InstantSandbox
from tests.search.scripted import BAD_PLAN, Responder, code_task, math_task


class LongAfterFirst(ScriptedLLM):
    """The scripted model, but after its first call every sample runs to `max_tokens`.

    A short first answer makes the run's mean sample length a poor guide to what follows:
    a batch sized by it alone overshoots by up to n samples of full length.
    """

    async def generate(self, messages, params):
        gen = await super().generate(messages, params)
        if len(self.calls) > 1:
            for completion in gen.completions:
                completion.completion_tokens = params.max_tokens
        return gen


@pytest.fixture(autouse=True)
def _verifiers(register_verifier):
    register_verifier("never", lambda: FakeVerifier(lambda c: 0.0))


# Options that make every strategy search long and in batches, so the budget ends it.
SEARCH = {
    "best_of_n": {"n": 8},
    "self_consistency": {"n": 8},
    "magicore": {"k": 6, "max_rounds": 6},
    "refine": {"max_rounds": 8},
    "mcts": {"k": 3, "max_iterations": 20},
    "tot": {"k": 4, "breadth": 3},
    "beam": {"width": 3, "k": 3, "max_depth": 4, "scorer": "judge"},
    "dvts": {"subtrees": 3, "k": 3, "max_depth": 4, "scorer": "judge"},
}


# Each strategy with its options above, and the other configurations worth bounding: mcts
# over whole candidates with progressive widening (repair's search).
CASES = [pytest.param(s, SEARCH.get(s, {}), id=s) for s in known_strategies()] + [
    pytest.param(
        "mcts",
        {"expand": "candidates", "widening": True, "k": 3, "max_iterations": 20},
        id="mcts-candidates",
    ),
]


def cases(*strategies: str) -> list:
    """The CASES of these strategies (each configuration of each)."""
    return [c for c in CASES if c.values[0] in strategies]


async def _solve(tmp_path, strategy, task, budget, verifiers, llm=None, sandbox=None, options=None):
    llm = llm or LongAfterFirst(Responder(plans=(BAD_PLAN,), all_bad=True))
    config = RunConfig(
        strategy=strategy,
        search=SEARCH.get(strategy, {}) if options is None else options,
        model="scripted",
        verifiers=verifiers,
        budget=budget,
    )
    result = await solve_task(
        task, config, model=ModelClient(llm), sandbox=sandbox, out_dir=tmp_path / strategy
    )
    return result, llm


@pytest.mark.parametrize("tokens", [300, 1100, 2500])
@pytest.mark.parametrize(("strategy", "options"), CASES)
async def test_completion_tokens_stay_within_one_call_of_the_limit(
    strategy, options, tokens, tmp_path
):
    # The judge (a model call per candidate and step) verifies alongside the never-passing fake.
    result, llm = await _solve(
        tmp_path,
        strategy,
        code_task(),
        {"tokens": tokens},
        ["never", "judge"],
        sandbox=InstantSandbox(),
        options=options,
    )
    spent = result.budget["spent"]
    largest = max(p.max_tokens for _, p in llm.calls)
    assert spent["largest_call_tokens"] == largest <= 512
    assert spent["completion_tokens"] <= tokens + largest, spent
    assert spent["llm_calls"] == len(llm.calls)  # every call charged, the judge's included


@pytest.mark.parametrize("calls", [2, 5, 9])
@pytest.mark.parametrize(("strategy", "options"), CASES)
async def test_llm_calls_never_pass_the_limit(strategy, options, calls, tmp_path):
    result, llm = await _solve(
        tmp_path,
        strategy,
        math_task(),
        {"tokens": None, "llm_calls": calls},
        ["judge"],
        options=options,
    )
    assert len(llm.calls) == result.budget["spent"]["llm_calls"] <= calls


@pytest.mark.parametrize(("strategy", "options"), CASES)
async def test_total_tokens_stay_within_one_call_of_the_limit(strategy, options, tmp_path):
    limit = 4000
    result, _ = await _solve(
        tmp_path,
        strategy,
        math_task(),
        {"tokens": None, "total_tokens": limit},
        ["judge"],
        options=options,
    )
    spent = result.budget["spent"]
    assert spent["total_tokens"] <= limit + spent["largest_call_tokens"], spent


@pytest.mark.parametrize(
    ("strategy", "options"), cases("best_of_n", "self_consistency", "magicore", "mcts")
)
async def test_sandbox_runs_of_the_tests_verifier_never_pass_the_limit(strategy, options, tmp_path):
    sandbox = InstantSandbox()
    result, _ = await _solve(
        tmp_path,
        strategy,
        code_task(),
        {"tokens": None, "sandbox_runs": 2},
        ["tests"],
        sandbox=sandbox,
        options=options,
    )
    assert result.budget["spent"]["sandbox_runs"] <= 2


class SlowLLM(ScriptedLLM):
    async def generate(self, messages, params):
        await asyncio.sleep(0.05)
        return await super().generate(messages, params)


async def test_a_refusal_waits_for_the_calls_already_in_flight():
    budget = Budget(max_llm_calls=2)
    model = Meter(budget).model(ModelClient(SlowLLM(["yes"])))
    from ponder.llm.base import SamplingParams

    messages = [{"role": "user", "content": "Answer yes or no."}]
    with pytest.raises(BudgetExhausted, match="LLM calls limit 2"):
        await asyncio.gather(*(model.generate(messages, SamplingParams()) for _ in range(3)))
    # When the refusal surfaced, the two admitted calls had returned and were charged.
    assert budget.spent.llm_calls == 2 and budget.held.llm_calls == 0


async def test_a_batch_is_cut_to_what_fits():
    budget = Budget(max_completion_tokens=700)
    llm = ScriptedLLM(["x"])
    model = Meter(budget).model(ModelClient(llm))
    from ponder.llm.base import SamplingParams

    gen = await model.generate([{"role": "user", "content": "hi"}], SamplingParams(n=4))
    assert llm.calls[0][1].n == 2 and len(gen.completions) == 2


@pytest.mark.parametrize("verifier", ["chooser", "prm"])
@pytest.mark.parametrize("strategy", ["best_of_n", "magicore", "mcts", "beam"])
async def test_model_verifiers_are_charged_and_bounded(strategy, verifier, tmp_path, monkeypatch):
    monkeypatch.setenv("PONDER_PRM", "judge")  # the policy model as the PRM: one call per step
    if strategy == "beam":
        monkeypatch.setitem(SEARCH, "beam", SEARCH["beam"] | {"scorer": verifier})
    for calls in (3, 6):
        result, llm = await _solve(
            tmp_path / str(calls), strategy, math_task(), {"tokens": None, "llm_calls": calls},
            [verifier],
        )  # fmt: skip
        assert len(llm.calls) == result.budget["spent"]["llm_calls"] <= calls
