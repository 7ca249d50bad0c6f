"""MCTS selection over patch nodes: UCT descent, re-expansion, and spent subtrees."""

from __future__ import annotations

from ponder.budget import Budget
from ponder.repair.search import MCTS, MCTSOptions, RepairContext, SearchOptions
from ponder.repair.task import RepairSpec
from ponder.repair.testing import TestReport


def context(tmp_path) -> RepairContext:
    spec = RepairSpec(id="t", problem="p", test_cmd="true", fail_to_pass=["t.py::a", "t.py::b"])
    ctx = RepairContext(
        spec=spec,
        snapshot=None,
        runner=None,
        agent=None,
        budget=Budget(),
        options=SearchOptions(review=False),
    )
    ctx.tree.add_root("p")
    return ctx


def child(ctx: RepairContext, parent: str, fixed: int) -> str:
    node = ctx.tree.add_child(parent, "candidate", f"patch {fixed}", meta={"patch": f"p{fixed}"})
    f2p = ["t.py::a", "t.py::b"]
    ctx._reports[node.id] = TestReport(
        status="error", exit_code=1, f2p_passed=f2p[:fixed], f2p_failed=f2p[fixed:]
    )
    ctx.tree.backpropagate(node.id, ctx.value(node.id))
    return node.id


def test_descends_into_the_better_child(tmp_path):
    ctx = context(tmp_path)
    good, bad = child(ctx, "n0", 1), child(ctx, "n0", 0)
    mcts = MCTS(MCTSOptions(c_uct=0.1))
    assert ctx.value(good) == 0.5 and ctx.value(bad) == 0.0
    assert mcts.select(ctx, "n0", {"n0": 1}) == good


def test_all_zero_children_mean_the_node_is_expanded_again(tmp_path):
    ctx = context(tmp_path)
    child(ctx, "n0", 0)
    assert MCTS(MCTSOptions()).select(ctx, "n0", {"n0": 1}) == "n0"
    assert MCTS(MCTSOptions(max_expansions=1)).select(ctx, "n0", {"n0": 1}) is None


def test_a_spent_subtree_is_skipped(tmp_path):
    ctx = context(tmp_path)
    good = child(ctx, "n0", 1)
    child(ctx, good, 0)  # good's only child scored zero and good may not be expanded again
    other = child(ctx, "n0", 1)
    mcts = MCTS(MCTSOptions(c_uct=0.0, max_expansions=1))
    assert mcts.select(ctx, "n0", {"n0": 1, good: 1}) == other
