"""MCTS: the selection rules on hand-made statistics, and its paths through the real graph
(expansion in one call, the rethink, the step scorer, the root rollout). The tree-wide
invariants of whole runs are in test_invariants.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ponder.search.mcts import puct, select_leaf, uct
from ponder.tree import ThoughtTree
from ponder.verifiers.base import Verdict
from tests.search.conftest import FakeVerifier, InstantSandbox, run
from tests.search.history import final_tree, phases
from tests.search.scripted import BAD_PLAN, GOOD_PLAN, Responder, code_task


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


@pytest.fixture(autouse=True)
def _verifiers(register_verifier):
    register_verifier("fake", FakeVerifier)
    register_verifier("never", lambda: FakeVerifier(lambda c: 0.0))
    register_verifier("steps", StepScorer)


async def mcts(tmp_path, responder, verifier="fake", **search):
    result, llm = await run(
        code_task(),
        tmp_path,
        InstantSandbox(),
        "mcts",
        responder,
        search=search,
        verifiers=[verifier],
        budget={"tokens": None},
        checkpoint_every="phase",
    )
    return result, llm, final_tree(result.run_dir), Path(result.run_dir)


class RethinkRepeats(Responder):
    """The greedy rethink gives back the wrong plan itself; a sampled one, `sampled`."""

    def __init__(self, sampled: str) -> None:
        super().__init__(plans=(BAD_PLAN,))
        self.sampled = sampled

    def __call__(self, messages, params):
        if "Rewrite step" in messages[-1]["content"]:
            return [BAD_PLAN if params.temperature == 0 else self.sampled]
        return super().__call__(messages, params)


def _rethinks(llm) -> list:
    return [params for messages, params in llm.calls if "Rewrite step" in messages[-1]["content"]]


@pytest.mark.parametrize("sampled", [GOOD_PLAN, BAD_PLAN])
async def test_a_rethink_that_repeats_its_thought_is_drawn_again_and_never_duplicated(
    sampled, tmp_path
):
    # A greedy rethink mostly returns the wrong thought unchanged (every rethink of the
    # MATH-500 study's first trees did); as a sibling its rollout would repeat the wrong
    # one's and, under a vote, count its answer twice.
    result, llm, tree, _ = await mcts(
        tmp_path, RethinkRepeats(sampled), k=1, max_iterations=1, max_depth=2, root_rollout=False
    )
    rethinks = _rethinks(llm)
    assert [p.temperature == 0 for p in rethinks] == [True, False]
    texts = [c.text for c in tree.children(tree.root_id) if c.kind == "thought"]
    assert len(texts) == len(set(texts))  # no two siblings alike
    rethought = [n for n in tree.nodes() if n.meta.get("rethink_of")]
    if sampled == GOOD_PLAN:
        assert [n.text for n in rethought] == [GOOD_PLAN] and result.solution is not None
    else:  # the draw repeated it too: nothing new, nothing simulated
        assert rethought == [] and tree.root.visits == 1


async def test_expansion_adds_k_children_in_one_call(tmp_path):
    result, llm, tree, _ = await mcts(
        tmp_path,
        Responder(plans=(BAD_PLAN,)),
        "never",
        k=3,
        max_iterations=1,
        root_rollout=False,
        rethink=False,
    )
    assert llm.calls[0][1].n == 3  # one call, k samples
    children = tree.children(tree.root_id)
    assert [c.kind for c in children] == ["thought"] * 3
    assert all(c.prior == pytest.approx(1 / 3) for c in children)
    assert all(c.visits == 1 for c in children) and tree.root.visits == 3


async def test_rethink_creates_a_refined_sibling_from_the_critique(tmp_path):
    result, llm, tree, run_dir = await mcts(
        tmp_path,
        Responder(plans=(BAD_PLAN,)),
        k=1,
        max_iterations=1,
        max_depth=2,
        root_rollout=False,
    )
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
    assert rollout.passed is True and phases(run_dir)[-1].before["solved"] is True
    # Both simulations were backpropagated to the root.
    assert tree.root.visits == 2 and tree.root.value_sum == pytest.approx(1.0)
    prompts = [m[-1]["content"] for m, _ in llm.calls]
    assert any("Wrong step" in p for p in prompts) and any("Rewrite step 1" in p for p in prompts)


async def test_mcts_stops_when_the_tree_is_fully_explored(tmp_path):
    result, _, tree, _ = await mcts(
        tmp_path,
        Responder(plans=(BAD_PLAN,)),
        "never",
        k=1,
        max_depth=1,
        max_iterations=50,
        rethink=False,
        root_rollout=False,
    )
    assert result.stop_reason == "the tree is fully explored"
    assert result.iterations < 50
    assert tree.root.visits == sum(1 for n in tree.nodes() if "value" in n.meta) >= 1


class StepScorer:
    """Scores a path by whether its last step is the good plan."""

    name = "steps"

    async def verify(self, task, candidates):
        return [
            Verdict(score=0.5, step_scores=[1.0 if c.steps[-1] == GOOD_PLAN else 0.0])
            for c in candidates
        ]


async def test_step_scorer_blends_into_the_thought_value(tmp_path):
    _, _, tree, _ = await mcts(
        tmp_path,
        Responder(plans=(BAD_PLAN, GOOD_PLAN)),
        "never",
        k=2,
        max_iterations=1,
        rethink=False,
        step_scorer="steps",
        step_weight=0.25,
        root_rollout=False,
    )
    values = {n.text: n.meta["value"] for n in tree.children(tree.root_id)}
    assert values == {BAD_PLAN: 0.0, GOOD_PLAN: 0.25}
    assert tree.root.value_sum == pytest.approx(0.25)
    good = next(n for n in tree.children(tree.root_id) if n.text == GOOD_PLAN)
    assert good.verdicts["steps"]["step_scores"] == [1.0]
    priors = {n.text: n.prior for n in tree.children(tree.root_id)}
    assert priors == {BAD_PLAN: 0.0, GOOD_PLAN: 1.0}  # the step scorer's PUCT prior


async def test_root_rollout_solves_an_easy_task_without_thoughts(tmp_path):
    result, llm, tree, _ = await mcts(tmp_path, Responder(first_bad=False))
    (only,) = tree.children(tree.root_id)
    assert only.kind == "candidate" and only.passed
    assert result.passed_public and len(llm.calls) == 1  # greedy's cost, no thoughts
    assert tree.root.visits == 1 and tree.root.value_sum == pytest.approx(1.0)


async def test_failing_root_rollout_goes_on_to_thoughts_without_a_review(tmp_path):
    result, llm, tree, _ = await mcts(tmp_path, Responder(first_bad=True, plans=(GOOD_PLAN,)), k=2)
    kinds = [c.kind for c in tree.children(tree.root_id)]
    assert kinds[0] == "candidate" and kinds.count("thought") == 2
    prompts = [m[-1]["content"] for m, _ in llm.calls]
    assert not any("Wrong step" in p for p in prompts[:2])  # the direct answer is not reviewed
    assert result.passed_public
    assert tree.root.visits == 3  # the direct answer and both thoughts' simulations


@pytest.mark.parametrize("tokens", [20, 40, 80, 120, 200])
async def test_an_expansion_asks_only_for_thoughts_the_budget_can_also_simulate(tokens, tmp_path):
    # A thought counts only through its rollout: k thoughts bought with the last of the
    # budget (on short programs a plan costs about what a program does) would leave some or
    # all of them never simulated, tokens spent for nothing.
    result, llm = await run(
        code_task(),
        tmp_path,
        InstantSandbox(),
        "mcts",
        Responder(all_bad=True, plans=(BAD_PLAN,)),
        search={"k": 3, "max_iterations": 8, "rethink": False},
        verifiers=["fake"],
        budget={"tokens": tokens},
    )
    tree = final_tree(result.run_dir)
    thoughts = [n for n in tree.nodes() if n.kind == "thought"]
    assert all("rollout" in n.meta for n in thoughts)
    # A visit for the direct answer and for every thought, the last one too when the budget
    # ran out during its rollout, before its score (settling values it by its verdicts).
    assert tree.root.visits == 1 + len(thoughts)
    if not thoughts:  # too little left after the direct answer for a thought and its rollout
        assert result.stop_reason == "the budget left pays for no thought to simulate"
        assert len(llm.calls) == 1
