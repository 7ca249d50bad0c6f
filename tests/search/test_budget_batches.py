"""A batch of samples never asks for more than the token budget still pays for."""

from __future__ import annotations

from ponder.agents.base import AgentSettings
from ponder.budget import Budget
from tests.search.conftest import run, search_context
from tests.search.scripted import Responder, math_task

SETTINGS = AgentSettings()
CANDIDATE, THOUGHT = SETTINGS.candidate_max_tokens, SETTINGS.thought_max_tokens


async def test_complete_shrinks_n_to_the_samples_left():
    ctx, llm = search_context()
    ctx.budget = Budget(max_completion_tokens=2 * CANDIDATE + 10)
    ids = await ctx.complete(ctx.tree.root_id, n=4)
    assert llm.calls[-1][1].n == 2 and len(ids) == 2


async def test_propose_shrinks_k_to_the_samples_left():
    ctx, llm = search_context()
    ctx.budget = Budget(max_total_tokens=2 * THOUGHT + 10)
    ids = await ctx.propose(ctx.tree.root_id, 3)
    assert llm.calls[-1][1].n == 2 and len(ids) == 2


async def test_batches_are_unchanged_while_the_budget_has_room():
    ctx, llm = search_context()
    ctx.budget = Budget(max_completion_tokens=4 * CANDIDATE + 3 * THOUGHT)
    await ctx.propose(ctx.tree.root_id, 3)
    await ctx.complete(ctx.tree.root_id, n=4)
    assert [params.n for _, params in llm.calls] == [3, 4]


async def test_best_of_n_samples_only_what_the_budget_has_left(tmp_path):
    search = {"n": 4}  # the greedy candidate, then one call for the other three
    roomy, llm = await run(
        math_task(), tmp_path / "roomy", None, "best_of_n", Responder(), search=search
    )
    assert [params.n for _, params in llm.calls] == [1, 3]
    assert roomy.nodes == 1 + 4

    # After the greedy answer, CANDIDATE + 1 tokens are left: priced at the run's mean length
    # three more samples fit, but only two can start inside the limit at full length, so the
    # batch asks for two (the run can then end at most one sample's max_tokens over).
    per_sample = roomy.budget["spent"]["completion_tokens"] // 4
    tokens = per_sample + CANDIDATE + 1
    tight, llm = await run(
        math_task(),
        tmp_path / "tight",
        None,
        "best_of_n",
        Responder(),
        search=search,
        budget={"tokens": tokens},
    )
    assert [params.n for _, params in llm.calls] == [1, 2]
    assert tight.nodes == 1 + 3
    assert tight.budget["spent"]["completion_tokens"] <= tokens + CANDIDATE
