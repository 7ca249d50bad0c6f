"""mcts: thought-level MCTS with execution-based simulation, backpropagation and rethink (RethinkMCTS).

The first iteration simulates the root (a direct candidate, no thoughts). Then each
iteration: select a leaf by UCT/PUCT -> expand it with k thoughts (one Solver call) ->
simulate each new thought (write a candidate from its path and run the verifiers) -> on a
failing candidate, the Reviewer names the first wrong thought and the Refiner rewrites it as a
sibling, which is simulated too -> backpropagate every simulated value up its path. The search
stops early when a candidate passes every public test and no verifier doubts it: with the
`generated_tests` verifier, a candidate that passes weak public tests but disagrees with the
generated tests is rethought like a failing one while the budget lasts. Near the end of a
token budget an expansion asks only for the thoughts whose rollouts can still start
(`affordable_thoughts`): a thought never simulated is tokens spent for nothing.

`expand="candidates"` searches over whole candidates instead (SWE-Search style; repair's
patches): the nodes below the root are candidates. The root's first expansion is one greedy
candidate plus k-1 sampled ones (later ones k sampled); a candidate's expansion is k rewrites
of it by the Refiner from its feedback and critique (`ctx.revise`). Each new candidate is
verified and valued by its own verdicts, and its value backed up its path; the best failing
ones are reviewed, so their children see the critique. `widening=True` adds progressive
widening: a node is expanded again (up to `max_expansions` times) while its children all
scored zero, and re-expanding it competes with its best child (`select_widening`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from ponder.errors import ConfigError
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

    evaluated: list[str]  # nodes simulated (or candidates) valued this iteration, owed a backup


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
    expand: Literal["thoughts", "candidates"] = Field(
        "thoughts",
        description="what the tree's nodes are: thoughts simulated by a greedy candidate "
        "(RethinkMCTS), or whole candidates expanded by the Refiner's rewrites (repair's patches)",
    )
    k: int = Field(
        3, ge=1, description="thoughts (or candidates) per expansion (one call, n=k): the width"
    )
    max_depth: int = Field(
        3, ge=1, description="thoughts (or candidates, each built on its parent) on a path"
    )
    c: float = Field(1.0, ge=0.0, description="exploration constant")
    rule: str = Field("uct", description=f"selection rule: {', '.join(SELECTION_RULES)}")
    rollout: Literal["greedy", "sample"] = Field(
        "greedy",
        description="how a thought is simulated: its greedy candidate (RethinkMCTS), or one "
        "sampled at the Solver's temperature, for a model whose greedy program ignores the "
        "plan (the root's direct answer is greedy either way)",
    )
    root_rollout: bool = Field(
        True,
        description="first simulate a direct candidate from the root; thoughts only if it fails "
        "(expand=thoughts only: candidate mode's first candidate is the greedy one)",
    )
    rethink: bool = Field(
        True,
        description="rewrite the first wrong thought of failing candidates (with "
        "expand=candidates: review failing candidates, whose critique their rewrites see)",
    )
    rethinks_per_iteration: int = Field(
        1, ge=0, description="failing candidates rethought (or reviewed) per iteration"
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
    widening: bool = Field(
        False,
        description="progressive widening (expand=candidates): expand a node again while its "
        "children all scored zero, or when that beats its best child's UCT",
    )
    max_expansions: int = Field(
        3, ge=1, description="with widening: times one node may be expanded"
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


def live_children(tree: ThoughtTree, node_id: str, skip: set[str]) -> list[Node]:
    """Candidate children that can be searched: parsed, valued, and not in `skip`."""
    return [
        c
        for c in tree.children(node_id)
        if c.kind == "candidate"
        and c.parse_error is None
        and "value" in c.meta
        and c.id not in skip
    ]


def expansions(node: Node) -> int:
    """Times a node was expanded (kept in its meta, so a resumed run's replayed tree has it)."""
    return int(node.meta.get("expansions", 0))


def select_candidate(
    tree: ThoughtTree, rule: SelectionRule, c: float, max_depth: int
) -> Node | None:
    """Candidate mode without widening: descend by `rule` to a node never expanded (below
    `max_depth`); an expanded node without live children is a dead end, skipped. None when
    the whole tree is spent."""
    dead: set[str] = set()
    node = tree.root
    while True:
        if not expansions(node) and node.depth < max_depth:
            return node
        kids = live_children(tree, node.id, dead)
        if not kids:
            dead.add(node.id)
            if node.parent is None:
                return None
            node = tree.root  # restart the descent without the dead branch
            continue
        node = max(kids, key=lambda k: (rule(node, k, c), -int(k.id[1:])))


def widening_uct(parent: Node, child: Node, c: float) -> float:
    """The UCT that children compete by under progressive widening (repair's: smoothed, so
    it is finite for every child): value + c * sqrt(ln(N(parent) + 1) / (N(child) + 1))."""
    visits = max(1, parent.visits)
    return child.value + c * math.sqrt(math.log(visits + 1) / (child.visits + 1))


def widen_score(node: Node, live: list[Node], c: float) -> float:
    """What expanding `node` once more is worth against its best child's `widening_uct`:
    half its best child's own value plus an exploration bonus that shrinks with every
    expansion made: 0.5 * max value + c * sqrt(ln(N + 1) / (expansions + 1))."""
    visits = max(1, node.visits)
    best = max(k.meta["value"] for k in live)
    return 0.5 * best + c * math.sqrt(math.log(visits + 1) / (expansions(node) + 1))


def select_widening(
    tree: ThoughtTree, c: float, max_depth: int, max_expansions: int
) -> Node | None:
    """Candidate mode with progressive widening: descend by `widening_uct` to a node to
    expand. A node whose live children all scored zero (or that has none) is expanded again
    while it may be (depth below `max_depth`, fewer than `max_expansions` expansions);
    otherwise expanding it again competes with its best child (`widen_score`), and wins
    too when that child is at `max_depth`. A spent subtree (neither it nor anything below
    it may be expanded) is skipped. None when the whole tree is spent."""
    spent: set[str] = set()
    while tree.root_id not in spent:
        node = tree.root
        while True:
            live = live_children(tree, node.id, spent)
            can_expand = node.depth < max_depth and expansions(node) < max_expansions
            if not live or all(k.meta["value"] == 0.0 for k in live):
                if can_expand:
                    return node
                spent.add(node.id)
                break
            best = max(live, key=lambda k: (widening_uct(node, k, c), -int(k.id[1:])))
            if can_expand and (
                widen_score(node, live, c) > widening_uct(node, best, c) or best.depth >= max_depth
            ):
                return node
            if best.depth >= max_depth:
                spent.add(best.id)
                break
            node = best
    return None


def mean_tokens(tree: ThoughtTree, kind: str, default: int) -> float:
    """The mean completion tokens of the tree's nodes of one kind that recorded theirs."""
    counts = [n.meta["tokens"] for n in tree.nodes() if n.kind == kind and n.meta.get("tokens")]
    return sum(counts) / len(counts) if counts else float(default)


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
            raise ConfigError(
                f"unknown MCTS selection rule {self.options.rule!r}",
                fix=f"use one of: {', '.join(SELECTION_RULES)}",
            )
        self.rule = SELECTION_RULES[self.options.rule]
        o = self.options
        if o.expand == "candidates" and o.step_scorer:
            raise ConfigError(
                "MCTS option step_scorer scores thoughts; expand='candidates' has none",
                fix="drop step_scorer, or use expand='thoughts'",
            )
        if o.widening and o.expand != "candidates":
            raise ConfigError(
                "MCTS progressive widening needs candidate nodes (expand='candidates')",
                fix="set expand='candidates', or drop widening",
            )
        if o.widening and o.rule != "uct":
            raise ConfigError(
                f"MCTS progressive widening selects by UCT, not {o.rule!r}",
                fix="use rule='uct' with widening, or drop widening",
            )

    @property
    def candidates(self) -> bool:
        """Candidate mode: the tree's nodes below the root are whole candidates."""
        return self.options.expand == "candidates"

    # ------------------------------------------------------------ phases

    async def select(self, ctx: SearchContext, state: MCTSState) -> Step:
        if state.get("iteration", 0) >= self.options.max_iterations:
            return Step("finalize", {"stop": f"{self.options.max_iterations} iterations done"})
        if self.candidates:
            return self._select_candidate(ctx)
        leaf, exhausted = select_leaf(ctx.tree, self.rule, self.options.c)
        for node_id in exhausted:
            ctx.tree.update(node_id, meta=ctx.node(node_id).meta | {"exhausted": True})
        if leaf is None:
            return Step("finalize", {"stop": "the tree is fully explored"})
        return Step("expand", {"frontier": [leaf.id], "evaluated": []})

    def _select_candidate(self, ctx: SearchContext) -> Step:
        o = self.options
        if o.widening:
            leaf = select_widening(ctx.tree, o.c, o.max_depth, o.max_expansions)
        else:
            leaf = select_candidate(ctx.tree, self.rule, o.c, o.max_depth)
        if leaf is None:
            limits = "max_depth and max_expansions" if o.widening else "max_depth"
            return Step(
                "finalize",
                {
                    "stop": f"the tree is fully explored (every node at {limits} or without "
                    "live children)"
                },
            )
        return Step("expand", {"frontier": [leaf.id], "evaluated": []})

    async def expand(self, ctx: SearchContext, state: MCTSState) -> Step:
        (leaf_id,) = state["frontier"]
        if self.candidates:
            return await self._expand_candidate(ctx, leaf_id)
        leaf = ctx.node(leaf_id)
        if self.options.root_rollout and leaf.parent is None and "rollout" not in leaf.meta:
            # Simulate the root itself first: an easy task is solved by the direct answer at
            # greedy's cost, and a tight budget still yields a candidate.
            return Step("execute", {"fresh": [leaf_id]})
        if leaf.depth >= self.options.max_depth:
            ctx.tree.update(leaf_id, meta=leaf.meta | {"expanded": True})
            return Step("select")  # a terminal thought: nothing to expand (now exhausted)
        width = self.affordable_thoughts(ctx)
        if width == 0:
            return Step("finalize", {"stop": "the budget left pays for no thought to simulate"})
        ctx.tree.update(leaf_id, meta=leaf.meta | {"expanded": True})
        fresh = await ctx.propose_each([leaf_id], width)
        return Step("execute" if fresh else "backpropagate", {"fresh": fresh})

    def affordable_thoughts(self, ctx: SearchContext) -> int:
        """The expansion's width: k, or as many thoughts as the budget left can also simulate.

        A thought counts only through its rollout, and on short programs a plan costs about
        what a program does: k thoughts bought with the last of the budget would leave some
        or all of them never simulated. The k thoughts come in one call, then one rollout
        each while the budget lasts, so the n-th rollout starts (and, as any last call, may
        run over) while n * thought + (n - 1) * rollout < left, each priced at the mean of
        this tree's thoughts and candidates (their caps before there are any). 0 when not
        even one thought and its rollout would start."""
        budget = ctx.budget
        limits = [budget.remaining_completion_tokens(), budget.remaining_total_tokens()]
        left = min((t for t in limits if t is not None), default=None)
        if left is None:
            return self.options.k
        settings = ctx.solver.settings
        thought = mean_tokens(ctx.tree, "thought", settings.thought_max_tokens)
        rollout = mean_tokens(ctx.tree, "candidate", settings.candidate_max_tokens)
        return min(self.options.k, math.ceil((left + rollout) / (thought + rollout)) - 1)

    async def _expand_candidate(self, ctx: SearchContext, leaf_id: str) -> Step:
        """k new candidates under the leaf: from the root, written by the Solver (the first
        time one greedy and k-1 sampled); under a candidate, its Refiner rewrites."""
        o = self.options
        leaf = ctx.node(leaf_id)
        first = not ctx.tree.children(leaf_id)
        ctx.tree.update(
            leaf_id, meta=leaf.meta | {"expanded": True, "expansions": expansions(leaf) + 1}
        )
        if leaf.parent is None:
            fresh = await ctx.complete(leaf_id, n=1, greedy=True) if first else []
            if o.k - len(fresh) > 0 and not ctx.budget.exhausted():
                fresh += await ctx.complete(leaf_id, n=o.k - len(fresh))
        else:  # from its feedback, and its critique when the Reviewer saw it after scoring
            fresh = await ctx.revise(leaf_id, n=o.k, greedy=False)
        for node_id in fresh:
            ctx.tree.update(node_id, prior=1.0 / len(fresh))
        return Step("execute" if fresh else "backpropagate", {"fresh": fresh})

    async def execute(self, ctx: SearchContext, state: MCTSState) -> Step:
        """Simulation: one candidate per fresh thought (greedy, or sampled with
        `rollout="sample"`; the root's direct answer always greedy), all verified in one
        batch (in candidate mode, the fresh candidates themselves are verified)."""
        fresh = state.get("fresh", [])
        if self.candidates:
            await ctx.verify(fresh)
        else:
            sample = self.options.rollout == "sample" and fresh != [ctx.tree.root_id]
            await ctx.simulate(fresh, greedy=not sample)
        return Step("score")

    async def score(self, ctx: SearchContext, state: MCTSState) -> Step:
        if self.candidates:
            return self._score_candidates(ctx, state)
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

    def _score_candidates(self, ctx: SearchContext, state: MCTSState) -> Step:
        """Value each fresh candidate by its own verdicts (unparsable ones 0.0, still a visit);
        stop on a solved one, else send the best failing ones that may still be expanded to
        the Reviewer."""
        fresh = state.get("fresh", [])
        for node_id in fresh:
            ctx.tree.update(node_id, meta=ctx.node(node_id).meta | {"value": ctx.value(node_id)})
        evaluated = [*state.get("evaluated", []), *fresh]
        solved = solved_updates(ctx, fresh)
        if solved or not self.options.rethink:
            return Step("backpropagate", {"evaluated": evaluated, **solved})
        failing = [
            i for i in fresh if self._failed(ctx, i) and ctx.node(i).depth < self.options.max_depth
        ]
        failing.sort(key=lambda i: (ctx.value(i), -int(i[1:])), reverse=True)
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

    def _unscored(self, ctx: SearchContext, fresh: list[str]) -> list[str]:
        """The fresh nodes simulated (a thought with its rollout, or a verified candidate) but
        not valued yet, now valued by their verdicts."""
        unscored = []
        for node_id in fresh:
            node = ctx.node(node_id)
            simulated = node_id if self.candidates else node.meta.get("rollout")
            if "value" in node.meta or simulated is None:
                continue
            candidate = ctx.node(simulated)
            if not (candidate.verdicts or candidate.parse_error):
                continue  # written, never verified: no value to back up
            ctx.tree.update(node_id, meta=node.meta | {"value": ctx.value(simulated)})
            unscored.append(node_id)
        return unscored

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
        """Rethink: the Refiner rewrites the first wrong thought; the new thought is its sibling.
        In candidate mode the review's critique waits on the node for its expansion: nothing
        to do here."""
        if self.candidates:
            return Step("backpropagate", {"failing": []})
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
        wrong_node = thoughts[wrong]
        steps = [t.text for t in thoughts]
        draft = await ctx.refiner.rethink(
            ctx.task, steps, critique, ctx.budget, seed=ctx.seed_for("rethink", candidate_id)
        )
        if draft.ok and ctx.repeats(wrong_node.parent, draft.answer) and not ctx.budget.exhausted():
            # The greedy rethink gave back a thought already there (mostly the wrong one
            # itself): its rollout would repeat that one's, so draw the rethink instead.
            draft = await ctx.refiner.rethink(
                ctx.task,
                steps,
                critique,
                ctx.budget,
                greedy=False,
                seed=ctx.seed_for("rethink", candidate_id, "sampled"),
            )
        if draft.ok and ctx.repeats(wrong_node.parent, draft.answer):
            return None  # nothing new to simulate
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
        """Back every simulated (or candidate's) value up its path (a visit to each node on
        it), once: a finalize rerun after an interrupt must not count a simulation twice."""
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
        """A search stopped (by the budget) after its simulations ran but before their
        backpropagation still backs them up: every simulation made is a visit at the root.
        One not scored yet (the budget ran out during its rollout, the last call) is valued
        by its verdicts alone: settling makes no model calls, so no step score is blended."""
        evaluated = [*state.get("evaluated", []), *self._unscored(ctx, state.get("fresh", []))]
        if not evaluated:
            return {}
        self._backpropagate(ctx, evaluated)
        return {"evaluated": [], "iteration": state.get("iteration", 0) + 1}
