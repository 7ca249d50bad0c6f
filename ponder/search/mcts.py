"""mcts: thought-level MCTS with execution-based simulation, backpropagation and rethink (RethinkMCTS).

The first iteration simulates the root (a direct candidate, no thoughts). Then each
iteration: select a leaf by UCT/PUCT -> expand it with k thoughts (one Solver call) ->
simulate each new thought (write a candidate from its path and run the verifiers) -> on a
failing candidate, the Reviewer names the first wrong thought and the Refiner rewrites it as a
sibling, which is simulated too -> backpropagate every simulated value up its path. The search
stops early when a candidate passes every public test and no verifier doubts it: with the
`generated_tests` verifier, a candidate that passes weak public tests but disagrees with the
generated tests is rethought like a failing one while the budget lasts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import Field

from ponder.search.base import (
    SearchContext,
    SearchState,
    Step,
    Strategy,
    StrategyOptions,
    solved_updates,
)
from ponder.search.beam import step_value
from ponder.search.registry import register_strategy
from ponder.tree import Node, ThoughtTree
from ponder.verifiers.base import Candidate

SelectionRule = Callable[[Node, Node, float], float]


class MCTSState(SearchState, total=False):
    """What MCTS keeps between phases, besides the shared state."""

    evaluated: list[str]  # nodes simulated and valued this iteration, owed a backpropagation


def uct(parent: Node, child: Node, c: float) -> float:
    """UCB1: mean value plus c * sqrt(ln N(parent) / N(child)); unvisited children first."""
    if child.visits == 0:
        return math.inf
    return child.value + c * math.sqrt(math.log(max(1, parent.visits)) / child.visits)


def puct(parent: Node, child: Node, c: float) -> float:
    """AlphaZero's PUCT: mean value plus c * prior * sqrt(N(parent)) / (1 + N(child))."""
    return child.value + c * child.prior * math.sqrt(max(1, parent.visits)) / (1 + child.visits)


SELECTION_RULES: dict[str, SelectionRule] = {"uct": uct, "puct": puct}


class MCTSOptions(StrategyOptions):
    max_iterations: int = Field(8, ge=1, description="select-expand-simulate-backpropagate loops")
    k: int = Field(3, ge=1, description="thoughts per expansion (one call, n=k): the width limit")
    max_depth: int = Field(3, ge=1, description="thoughts on a path: the depth limit")
    c: float = Field(1.0, ge=0.0, description="exploration constant")
    rule: str = Field("uct", description=f"selection rule: {', '.join(SELECTION_RULES)}")
    root_rollout: bool = Field(
        True,
        description="first simulate a direct candidate from the root; thoughts only if it fails",
    )
    rethink: bool = Field(True, description="rewrite the first wrong thought of failing candidates")
    rethinks_per_iteration: int = Field(
        1, ge=0, description="failing candidates rethought per iteration"
    )
    step_scorer: str | None = Field(
        None,
        description="a verifier (judge, prm, plug-in) that also scores each new thought's path "
        "(blended into its value, and its PUCT prior among its siblings)",
    )
    step_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="weight of the step score in a thought's value"
    )
    rethink_below: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="without a pass/fail verdict (math), rethink values below this",
    )


def live_thoughts(tree: ThoughtTree, node_id: str) -> list[Node]:
    """Children that can still be searched: thoughts that parsed and are not exhausted."""
    return [
        c
        for c in tree.children(node_id)
        if c.kind == "thought" and c.status != "failed" and not c.meta.get("exhausted")
    ]


def select_leaf(tree: ThoughtTree, rule: SelectionRule, c: float) -> tuple[Node | None, list[str]]:
    """Descend from the root by `rule` to a node not yet expanded.

    Returns the leaf (None when the whole tree is exhausted) and the ids of nodes found
    exhausted on the way (expanded, with no live children), which the caller marks.
    """
    exhausted: list[str] = []
    node = tree.root
    while True:
        if not node.meta.get("expanded"):
            return node, exhausted
        kids = [k for k in live_thoughts(tree, node.id) if k.id not in exhausted]
        if not kids:
            exhausted.append(node.id)
            if node.parent is None:
                return None, exhausted
            node = tree.root  # restart the descent without the dead branch
            continue
        node = max(kids, key=lambda k: (rule(node, k, c), -int(k.id[1:])))


def set_priors(tree: ThoughtTree, step_values: dict[str, float]) -> None:
    """PUCT priors from the step scorer: each new thought's score over its new siblings' sum."""
    by_parent: dict[str | None, list[str]] = {}
    for node_id in step_values:
        by_parent.setdefault(tree.node(node_id).parent, []).append(node_id)
    for siblings in by_parent.values():
        total = sum(step_values[i] for i in siblings)
        if total > 0:
            for node_id in siblings:
                tree.update(node_id, prior=step_values[node_id] / total)


@register_strategy("mcts")
class MCTS(Strategy):
    Options = MCTSOptions
    State = MCTSState
    options: MCTSOptions

    def __init__(self, options: MCTSOptions | None = None) -> None:
        super().__init__(options)
        if self.options.rule not in SELECTION_RULES:
            from ponder.errors import ConfigError

            raise ConfigError(
                f"unknown MCTS selection rule {self.options.rule!r}",
                fix=f"use one of: {', '.join(SELECTION_RULES)}",
            )
        self.rule = SELECTION_RULES[self.options.rule]

    # ------------------------------------------------------------ phases

    async def select(self, ctx: SearchContext, state: MCTSState) -> Step:
        if state.get("iteration", 0) >= self.options.max_iterations:
            return Step("finalize", {"stop": f"{self.options.max_iterations} iterations done"})
        leaf, exhausted = select_leaf(ctx.tree, self.rule, self.options.c)
        for node_id in exhausted:
            ctx.tree.update(node_id, meta=ctx.node(node_id).meta | {"exhausted": True})
        if leaf is None:
            return Step("finalize", {"stop": "the tree is fully explored"})
        return Step("expand", {"frontier": [leaf.id], "evaluated": []})

    async def expand(self, ctx: SearchContext, state: MCTSState) -> Step:
        (leaf_id,) = state["frontier"]
        leaf = ctx.node(leaf_id)
        if self.options.root_rollout and leaf.parent is None and "rollout" not in leaf.meta:
            # Simulate the root itself first: an easy task is solved by the direct answer at
            # greedy's cost, and a tight budget still yields a candidate.
            return Step("execute", {"fresh": [leaf_id]})
        ctx.tree.update(leaf_id, meta=leaf.meta | {"expanded": True})
        if leaf.depth >= self.options.max_depth:
            return Step("select")  # a terminal thought: nothing to expand (now exhausted)
        fresh = await ctx.propose_each([leaf_id], self.options.k)
        return Step("execute" if fresh else "backpropagate", {"fresh": fresh})

    async def execute(self, ctx: SearchContext, state: MCTSState) -> Step:
        """Simulation: one greedy candidate per fresh thought, all verified in one batch."""
        await ctx.simulate(state.get("fresh", []))
        return Step("score")

    async def score(self, ctx: SearchContext, state: MCTSState) -> Step:
        fresh = [i for i in state.get("fresh", []) if "rollout" in ctx.node(i).meta]
        await self._value(ctx, fresh)
        evaluated = [*state.get("evaluated", []), *fresh]
        rollouts = [ctx.node(i).meta["rollout"] for i in fresh]
        solved = solved_updates(ctx, rollouts)
        if solved or not self.options.rethink:
            return Step("backpropagate", {"evaluated": evaluated, **solved})
        failing = [
            c
            for c, t in zip(rollouts, fresh, strict=True)
            if self._failed(ctx, c)
            and not ctx.node(t).meta.get("rethink_of")
            and t != ctx.tree.root_id  # a direct answer has no thought to rethink
        ]
        failing.sort(key=lambda c: (ctx.value(c), -int(c[1:])), reverse=True)
        failing = failing[: self.options.rethinks_per_iteration]
        return Step(
            "review" if failing else "backpropagate", {"evaluated": evaluated, "failing": failing}
        )

    async def _value(self, ctx: SearchContext, thought_ids: list[str]) -> None:
        """A thought's value: its simulation's verdict score, blended with a step score if configured."""
        step_values: dict[str, float] = {}
        if self.options.step_scorer and thought_ids:
            scorer = ctx.make_verifier(self.options.step_scorer)
            paths = [
                Candidate(id=i, text="\n".join(ctx.steps(i)), steps=ctx.steps(i))
                for i in thought_ids
            ]
            for thought_id, verdict in zip(
                thought_ids, await scorer.verify(ctx.task, paths), strict=True
            ):
                ctx.tree.add_verdict(thought_id, scorer.name, verdict)
                step_values[thought_id] = step_value(verdict)
            set_priors(ctx.tree, step_values)
        for thought_id in thought_ids:
            value = ctx.value(ctx.node(thought_id).meta["rollout"])
            if thought_id in step_values:
                w = self.options.step_weight
                value = (1 - w) * value + w * step_values[thought_id]
            ctx.tree.update(thought_id, meta=ctx.node(thought_id).meta | {"value": value})

    def _failed(self, ctx: SearchContext, candidate_id: str) -> bool:
        node = ctx.node(candidate_id)
        if node.parse_error is not None:
            return False  # nothing to critique: the simulation produced no candidate
        if node.passed is True:
            return not ctx.is_solved(candidate_id)  # passes, but the generated tests disagree
        if node.passed is False:
            return True
        return ctx.value(candidate_id) < self.options.rethink_below

    async def refine(self, ctx: SearchContext, state: MCTSState) -> Step:
        """Rethink: the Refiner rewrites the first wrong thought; the new thought is its sibling."""
        fresh = []
        for candidate_id in state.get("failing", []):
            if ctx.budget.exhausted():
                break
            new_id = await self.rethink(ctx, candidate_id)
            if new_id is not None:
                fresh.append(new_id)
        return Step("execute" if fresh else "backpropagate", {"fresh": fresh, "failing": []})

    async def rethink(self, ctx: SearchContext, candidate_id: str) -> str | None:
        """Replace the wrong thought on the candidate's path by a refined sibling; its id."""
        thoughts = [n for n in ctx.tree.path(candidate_id) if n.kind == "thought"]
        if not thoughts:
            return None
        critique = ctx.critique_of(candidate_id)
        wrong = critique.wrong_step if critique.wrong_step is not None else len(thoughts) - 1
        wrong = min(max(wrong, 0), len(thoughts) - 1)
        draft = await ctx.refiner.rethink(
            ctx.task,
            [t.text for t in thoughts],
            critique,
            ctx.budget,
            seed=ctx.seed_for("rethink", candidate_id),
        )
        wrong_node = thoughts[wrong]
        node = ctx.tree.add_child(
            wrong_node.parent,
            "thought",
            draft.answer or draft.text,
            prior=wrong_node.prior,
            status="open" if draft.ok else "failed",
            parse_error=draft.parse_error,
            critique=critique.text,
            meta={"raw": draft.text, "rethink_of": wrong_node.id, "from_candidate": candidate_id},
        )
        return node.id if draft.ok else None

    async def backpropagate(self, ctx: SearchContext, state: MCTSState) -> Step:
        self._backpropagate(ctx, state.get("evaluated", []))
        iteration = state.get("iteration", 0) + 1
        updates = {"iteration": iteration, "evaluated": [], "fresh": []}
        if state.get("solved"):
            return Step("finalize", updates)
        return Step("select", updates)

    def _backpropagate(self, ctx: SearchContext, evaluated: list[str]) -> None:
        """Back every simulated value up its path (a visit to each node on it), once: a
        finalize rerun after an interrupt must not count a simulation twice."""
        for thought_id in evaluated:
            node = ctx.node(thought_id)
            if node.meta.get("backed_up"):
                continue
            ctx.tree.backpropagate(thought_id, node.meta["value"])
            marks = {"backed_up": True}
            if node.depth >= self.options.max_depth:
                marks["exhausted"] = True
            ctx.tree.update(thought_id, meta=ctx.node(thought_id).meta | marks)

    async def settle(self, ctx: SearchContext, state: MCTSState) -> dict[str, Any]:
        """A search stopped (by the budget) after its values were scored but before their
        backpropagation still backs them up: every simulation made is a visit at the root."""
        evaluated = state.get("evaluated", [])
        if not evaluated:
            return {}
        self._backpropagate(ctx, evaluated)
        return {"evaluated": [], "iteration": state.get("iteration", 0) + 1}
