"""MCTS unit tests: selection, expansion in one call, backpropagation, the rethink path."""

from __future__ import annotations

import math

import pytest

from ponder.agents import Refiner, Reviewer, Solver
from ponder.budget import Budget
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.search.base import SearchContext, SearchState
from ponder.search.mcts import MCTS, MCTSOptions, puct, select_leaf, uct
from ponder.tree import ThoughtTree
from tests.search.conftest import FakeVerifier
from tests.search.scripted import BAD_PLAN, GOOD_PLAN, Responder, code_task


def make_ctx(responder=None, verifier=None) -> tuple[SearchContext, ScriptedLLM]:
    llm = ScriptedLLM(responder or Responder(plans=(BAD_PLAN,)))
    model = ModelClient(llm)
    tree = ThoughtTree()
    tree.add_root("root")
    ctx = SearchContext(
        task=code_task().view(),
        tree=tree,
        solver=Solver(model),
        reviewer=Reviewer(model),
        refiner=Refiner(model),
        verifier=verifier or FakeVerifier(),
        budget=Budget(),
    )
    return ctx, llm


async def drive(
    strategy, ctx, state: SearchState, until: str = "finalize", limit: int = 100
) -> str:
    """Run phases without the graph (the graph's own tests cover routing)."""
    phase = "select"
    for _ in range(limit):
        if phase == until:
            return phase
        step = await getattr(strategy, phase)(ctx, state)
        state.update(step.updates)
        phase = step.next
    raise AssertionError("no end")


def _tree_with_stats(stats: list[tuple[int, float, float]]) -> tuple[ThoughtTree, list[str]]:
    tree = ThoughtTree()
    root = tree.add_root("root", visits=sum(v for v, _, _ in stats), meta={"expanded": True})
    ids = [
        tree.add_child(root.id, "thought", f"t{i}", prior=p, visits=v, value_sum=s).id
        for i, (v, s, p) in enumerate(stats)
    ]
    return tree, ids


def test_uct_selection_picks_the_maximum():
    # visits, value_sum, prior
    tree, ids = _tree_with_stats([(5, 2.5, 0.3), (2, 0.6, 0.3), (1, 0.9, 0.4)])
    root = tree.root
    scores = [uct(root, tree.node(i), 1.0) for i in ids]
    assert scores[2] == pytest.approx(0.9 + math.sqrt(math.log(8) / 1))
    leaf, _ = select_leaf(tree, uct, 1.0)
    assert leaf.id == ids[scores.index(max(scores))] == ids[2]


def test_uct_prefers_unvisited_and_c_zero_is_greedy():
    tree, ids = _tree_with_stats([(4, 3.6, 0.5), (0, 0.0, 0.5)])
    assert select_leaf(tree, uct, 1.0)[0].id == ids[1]  # unvisited: infinite bonus
    tree, ids = _tree_with_stats([(4, 3.6, 0.5), (3, 0.3, 0.5)])
    assert select_leaf(tree, uct, 0.0)[0].id == ids[0]  # no exploration: best mean value


def test_puct_selection_follows_priors():
    tree, ids = _tree_with_stats([(2, 1.0, 0.05), (2, 1.0, 0.9), (2, 1.0, 0.05)])
    scores = [puct(tree.root, tree.node(i), 2.0) for i in ids]
    assert scores[1] == pytest.approx(0.5 + 2.0 * 0.9 * math.sqrt(6) / 3)
    assert select_leaf(tree, puct, 2.0)[0].id == ids[1]


def test_selection_descends_and_skips_exhausted_branches():
    tree, ids = _tree_with_stats([(3, 2.7, 0.5), (1, 0.1, 0.5)])
    tree.update(ids[0], meta={"expanded": True})  # expanded, but no live children: dead end
    leaf, exhausted = select_leaf(tree, uct, 0.0)
    assert exhausted == [ids[0]] and leaf.id == ids[1]


async def test_expansion_adds_k_children_in_one_call():
    ctx, llm = make_ctx()
    strategy = MCTS(MCTSOptions(k=3, root_rollout=False))
    state: SearchState = {}
    step = await strategy.select(ctx, state)
    state.update(step.updates)
    assert state["frontier"] == [ctx.tree.root_id]
    step = await strategy.expand(ctx, state)
    assert len(llm.calls) == 1 and llm.calls[0][1].n == 3
    children = ctx.tree.children(ctx.tree.root_id)
    assert [c.kind for c in children] == ["thought"] * 3
    assert all(c.prior == pytest.approx(1 / 3) for c in children)
    assert step.next == "execute" and step.updates["fresh"] == [c.id for c in children]


async def test_backpropagation_updates_every_ancestor():
    ctx, _ = make_ctx()
    tree = ctx.tree
    t1 = tree.add_child(tree.root_id, "thought", "a")
    t2 = tree.add_child(t1.id, "thought", "b")
    sibling = tree.add_child(tree.root_id, "thought", "c")
    cand = tree.add_child(t2.id, "candidate", "code", answer="code")
    ctx.record(cand.id, "fake", _verdict(0.75))
    tree.update(t2.id, meta={"rollout": cand.id, "value": 0.75})
    step = await MCTS().backpropagate(ctx, {"evaluated": [t2.id], "iteration": 4})
    for node_id in (tree.root_id, t1.id, t2.id):
        node = tree.node(node_id)
        assert (node.visits, node.value_sum) == (1, pytest.approx(0.75)), node_id
    assert tree.node(sibling.id).visits == 0
    assert step.next == "select" and step.updates["iteration"] == 5


def _verdict(score: float):
    from ponder.verifiers.base import Verdict

    return Verdict(score=score, passed=score == 1.0, feedback="AssertionError")


async def test_rethink_creates_a_refined_sibling_from_the_critique():
    ctx, llm = make_ctx(Responder(plans=(BAD_PLAN,)))
    strategy = MCTS(MCTSOptions(k=1, max_iterations=1, max_depth=2, root_rollout=False))
    state: SearchState = {}
    assert await drive(strategy, ctx, state) == "finalize"
    tree = ctx.tree
    rethought = [n for n in tree.nodes() if n.meta.get("rethink_of")]
    assert len(rethought) == 1
    new = rethought[0]
    wrong = tree.node(new.meta["rethink_of"])
    assert wrong.text == BAD_PLAN and new.text == GOOD_PLAN
    assert new.parent == wrong.parent  # a sibling of the wrong thought
    failing = tree.node(new.meta["from_candidate"])
    assert failing.status == "failed" and "Wrong step: 1" in failing.critique
    assert new.critique == failing.critique
    # The refined thought was simulated: its candidate passes, and the search stopped early.
    rollout = tree.node(new.meta["rollout"])
    assert rollout.passed is True and state["solved"] is True
    # Both simulations were backpropagated to the root.
    assert tree.root.visits == 2 and tree.root.value_sum == pytest.approx(1.0)
    prompts = [m[-1]["content"] for m, _ in llm.calls]
    assert any("Wrong step" in p for p in prompts) and any("Rewrite step 1" in p for p in prompts)


async def test_mcts_stops_when_the_tree_is_fully_explored():
    ctx, _ = make_ctx(Responder(plans=(BAD_PLAN,)), FakeVerifier(lambda c: 0.0))
    strategy = MCTS(
        MCTSOptions(k=1, max_depth=1, max_iterations=50, rethink=False, root_rollout=False)
    )
    state: SearchState = {}
    await drive(strategy, ctx, state)
    assert state["stop"] == "the tree is fully explored"
    assert state["iteration"] < 50


class StepScorer:
    """Scores a path by whether its last step is the good plan."""

    name = "steps"

    async def verify(self, task, candidates):
        from ponder.verifiers.base import Verdict

        return [
            Verdict(score=0.5, step_scores=[1.0 if c.steps[-1] == GOOD_PLAN else 0.0])
            for c in candidates
        ]


async def test_step_scorer_blends_into_the_thought_value():
    ctx, _ = make_ctx(Responder(plans=(BAD_PLAN, GOOD_PLAN)), FakeVerifier(lambda c: 0.0))
    ctx.make_verifier = lambda name: StepScorer()
    strategy = MCTS(
        MCTSOptions(
            k=2,
            max_iterations=1,
            rethink=False,
            step_scorer="steps",
            step_weight=0.25,
            root_rollout=False,
        )
    )
    await drive(strategy, ctx, {})
    values = {n.text: n.meta["value"] for n in ctx.tree.children(ctx.tree.root_id)}
    assert values == {BAD_PLAN: 0.0, GOOD_PLAN: 0.25}
    assert ctx.tree.root.value_sum == pytest.approx(0.25)
    good = next(n for n in ctx.tree.children(ctx.tree.root_id) if n.text == GOOD_PLAN)
    assert good.verdicts["steps"]["step_scores"] == [1.0]
    priors = {n.text: n.prior for n in ctx.tree.children(ctx.tree.root_id)}
    assert priors == {BAD_PLAN: 0.0, GOOD_PLAN: 1.0}  # the step scorer's PUCT prior


async def test_root_rollout_solves_an_easy_task_without_thoughts():
    ctx, llm = make_ctx(Responder(first_bad=False))
    state: SearchState = {}
    assert await drive(MCTS(), ctx, state) == "finalize"
    (only,) = ctx.tree.children(ctx.tree.root_id)
    assert only.kind == "candidate" and ctx.node(only.id).passed
    assert state.get("solved") and len(llm.calls) == 1  # greedy's cost, no thoughts


async def test_failing_root_rollout_goes_on_to_thoughts_without_a_review():
    ctx, llm = make_ctx(Responder(first_bad=True, plans=(GOOD_PLAN,)))
    state: SearchState = {}
    await drive(MCTS(MCTSOptions(k=2)), ctx, state)
    kinds = [c.kind for c in ctx.tree.children(ctx.tree.root_id)]
    assert kinds[0] == "candidate" and kinds.count("thought") == 2
    prompts = [m[-1]["content"] for m, _ in llm.calls]
    assert not any("Wrong step" in p for p in prompts[:2])  # the direct answer is not reviewed
    assert state.get("solved")
