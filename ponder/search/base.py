"""The strategy interface: phases that read and grow the tree and return the next phase to run."""

from __future__ import annotations

import hashlib
from abc import ABC
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict  # pydantic validates it on Python < 3.12

from ponder.agents import Critique, Draft, Refiner, Reviewer, Solver
from ponder.budget import Budget
from ponder.kinds import kind_for
from ponder.kinds.origin import Origin
from ponder.task import VisibleTask
from ponder.tree import Node, ThoughtTree
from ponder.verifiers.base import Candidate, Verdict, Verifier, is_collective
from ponder.verifiers.composite import verdict_parts

Phase = Literal[
    "select", "expand", "execute", "score", "review", "refine", "backpropagate", "finalize"
]
PHASES: tuple[Phase, ...] = (
    "select",
    "expand",
    "execute",
    "score",
    "review",
    "refine",
    "backpropagate",
    "finalize",
)


class SearchState(TypedDict, total=False):
    """The graph's checkpointed state every strategy shares: ids, counters and decisions only
    (the tree lives outside). A strategy that keeps more declares a `State` of its own that
    extends this one (e.g. `class MCTSState(SearchState, total=False): evaluated: list[str]`);
    the graph's schema is the strategy's State, and a phase that returns a key its State does
    not declare is an error (LangGraph would drop it without a word)."""

    next: str  # the phase the last phase chose
    iteration: int  # completed search iterations (strategy-defined unit)
    frontier: list[str]  # node ids selected to work on
    fresh: list[str]  # node ids created by the last expand/refine, waiting to be executed/scored
    failing: list[str]  # candidate ids to review
    solved: bool  # a candidate passed every public test
    stop: str  # why the search stopped (budget, solved, limit)
    best: str  # best candidate id so far
    best_score: float
    tree_seq: int  # tree log position at the end of the phase (resume replays up to here)
    spent: dict[str, float]  # budget counters at the end of the phase
    wall_seconds: float  # the run's wall seconds at the end of the phase (resume carries them)
    rejected: list[str]  # candidates a person rejected (interactive)
    decision: str  # a person's answer at the interrupt
    phase_ms: float  # wall time of the last phase's own work (model and sandbox calls included)


def state_keys(state: type) -> frozenset[str]:
    """The keys a state TypedDict declares, its bases' included."""
    return frozenset(state.__required_keys__ | state.__optional_keys__)


@dataclass
class Step:
    """What a phase returns: the next phase and the state fields it changes."""

    next: Phase
    updates: dict[str, Any] = field(default_factory=dict)


class StrategyOptions(BaseModel):
    """Base of every strategy's options (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class SearchContext:
    """The runtime parts a strategy works with. Only the visible task is here, by type.

    A batch of samples (propose's k, complete's n) shrinks to what the token budget still pays
    for at the run's mean sample length (`Budget.samples_left`). Under `ponder solve` the model
    and sandbox the agents and verifiers hold are metered (`ponder.search.metered`): the Budget
    admits every call first, cuts a batch to what fits at full length, and refuses a call past
    a limit (BudgetExhausted, which ends the search at the graph).
    """

    task: VisibleTask
    tree: ThoughtTree
    solver: Solver
    reviewer: Reviewer
    refiner: Refiner
    verifier: Verifier
    budget: Budget
    seed: int = 0
    make_verifier: Any = None  # Callable[[str], Verifier] for strategies that need a second one
    _best: tuple[tuple, str] | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------ seeds and paths

    def seed_for(self, *parts: object) -> int:
        """A per-call seed derived from the run seed and stable ids (stable across resume)."""
        blob = ":".join(str(p) for p in (self.seed, *parts)).encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big")

    def steps(self, node_id: str) -> list[str]:
        return self.tree.steps(node_id)

    def node(self, node_id: str) -> Node:
        return self.tree.node(node_id)

    # ------------------------------------------------------------ growing the tree

    async def propose(self, parent_id: str, k: int) -> list[str]:
        """k thought children of `parent_id` from ONE Solver call; unparsable ones are failed."""
        drafts = await self.solver.propose(
            self.task,
            self.steps(parent_id),
            self.budget.samples_left(k, self.solver.settings.thought_max_tokens),
            self.budget,
            seed=self.seed_for("propose", parent_id),
        )
        ids = []
        for draft in drafts:
            node = self.tree.add_child(
                parent_id,
                "thought",
                draft.answer or draft.text,
                prior=1.0 / max(1, len(drafts)),
                status="open" if draft.ok else "failed",
                parse_error=draft.parse_error,
                meta={"raw": draft.text, "tokens": draft.tokens},
            )
            ids.append(node.id)
        return ids

    def repeats(self, parent_id: str, thought: str | None) -> bool:
        """Whether `parent_id` already has a thought child with this text."""
        return any(
            c.kind == "thought" and c.status != "failed" and c.text == thought
            for c in self.tree.children(parent_id)
        )

    async def propose_each(self, parent_ids: list[str], k: int) -> list[str]:
        """k thoughts for each parent (one call each) while the budget lasts; those that parsed."""
        fresh: list[str] = []
        for parent_id in parent_ids:
            if self.budget.exhausted():
                break
            fresh += [
                i for i in await self.propose(parent_id, k) if self.node(i).status != "failed"
            ]
        return fresh

    async def complete(self, parent_id: str, n: int = 1, greedy: bool = False) -> list[str]:
        """n candidate children of `parent_id`, written from the thoughts on its path (one call)."""
        drafts = await self.solver.complete(
            self.task,
            self.steps(parent_id),
            self.budget.samples_left(n, self.solver.settings.candidate_max_tokens),
            self.budget,
            greedy=greedy,
            seed=self.seed_for("complete", parent_id, len(self.tree.children(parent_id))),
            origin=self.origin(parent_id),
        )
        return [self.add_candidate(parent_id, d) for d in drafts]

    def origin(self, parent_id: str) -> Origin:
        """What a new child of `parent_id` builds on, for kinds that keep state on nodes: the
        candidate it revises (None under the root or a thought), the root, and why its last
        siblings did not parse."""
        parent = self.node(parent_id)
        failed = [c.parse_error for c in self.tree.children(parent_id) if c.parse_error]
        return Origin(
            parent=parent if parent.kind == "candidate" else None,
            root=self.tree.root,
            rejected=tuple(failed[-2:]),
        )

    def add_candidate(self, parent_id: str, draft: Draft, **meta: Any) -> str:
        """Record a Draft as a candidate node (failed with its parse error when it did not
        parse); the kind's state of the draft (a patch) goes into the node's meta."""
        kind = kind_for(self.task, self.solver.settings)
        node = self.tree.add_child(
            parent_id,
            "candidate",
            kind.candidate_text(draft) or "",
            answer=draft.answer,
            parse_error=draft.parse_error,
            status="open" if draft.ok else "failed",
            meta={"raw": draft.text, "steps": draft.steps, "tokens": draft.tokens}
            | draft.state
            | meta,
        )
        if not draft.ok:
            self.tree.update(node.id, feedback=f"unparsable output: {draft.parse_error}")
        return node.id

    def draft(self, node_id: str) -> Draft:
        """A candidate node as the agents see it."""
        node = self.node(node_id)
        steps = node.meta.get("steps") or self.steps(node_id)
        return Draft(
            text=node.meta.get("raw", node.text),
            answer=node.answer,
            steps=list(steps),
            parse_error=node.parse_error,
        )

    def candidate(self, node_id: str) -> Candidate:
        node = self.node(node_id)
        return Candidate(
            id=node.id, text=node.text, steps=list(node.meta.get("steps") or []), answer=node.answer
        )

    async def simulate(self, thought_ids: list[str], greedy: bool = True) -> list[str]:
        """Rollouts: one candidate per thought (recorded as its `rollout`), greedy or
        sampled, verified in one batch; stops writing when the budget is spent. The
        candidates' ids."""
        rollouts = []
        for thought_id in thought_ids:
            if self.budget.exhausted():
                break
            (candidate_id,) = await self.complete(thought_id, n=1, greedy=greedy)
            self.tree.update(
                thought_id, meta=self.node(thought_id).meta | {"rollout": candidate_id}
            )
            rollouts.append(candidate_id)
        await self.verify(rollouts)
        return rollouts

    # ------------------------------------------------------------ verifying

    async def verify(self, ids: list[str], verifier: Verifier | None = None) -> dict[str, Verdict]:
        """Judge the parsable candidates among `ids` in one batch; record verdicts and statuses.

        A collective verifier (a vote, a choice) judges every parsable candidate so far
        instead, so its verdicts always compare the whole set, however piecewise strategies
        call this. The verdicts recorded, by candidate id.
        """
        verifier = verifier or self.verifier
        live = [
            i for i in ids if self.node(i).kind == "candidate" and self.node(i).parse_error is None
        ]
        if not live:
            return {}
        if is_collective(verifier):
            live = [n.id for n in self.live_candidates()]
        verdicts = await verifier.verify(self.task, [self.candidate(i) for i in live])
        out = {}
        for node_id, verdict in zip(live, verdicts, strict=True):
            self.record(node_id, verifier.name, verdict)
            out[node_id] = verdict
        return out

    def record(self, node_id: str, name: str, verdict: Verdict) -> None:
        self.tree.add_verdict(node_id, name, verdict)
        node = self.node(node_id)
        status = {True: "passed", False: "failed"}.get(node.passed, node.status)
        fields: dict[str, Any] = {"status": status, "feedback": verdict.feedback}
        if verdict.step_scores:
            fields["step_scores"] = verdict.step_scores
        self.tree.update(node_id, **fields)
        if self._best is not None:  # keep the progress view's best up to date in O(1)
            rank = self._rank(node)
            if node_id == self._best[1]:
                self._best = None
            elif rank > self._best[0]:
                self._best = (rank, node_id)

    @staticmethod
    def _rank(node: Node) -> tuple:
        return (
            node.passed is True,
            node.score if node.score is not None else -1.0,
            node.value,
            -int(node.id[1:]),
        )

    def value(self, node_id: str) -> float:
        """A candidate's value in [0, 1]: its mean verdict score (0 for failed parses)."""
        node = self.node(node_id)
        return float(node.score) if node.score is not None else 0.0

    def is_solved(self, node_id: str) -> bool:
        """Passed every public test, and no verifier still doubts it (`confirmed` False:
        e.g. the generated tests disagree), so a search may stop on it."""
        node = self.node(node_id)
        return node.passed is True and not any(
            (part.get("details") or {}).get("confirmed") is False
            for part in verdict_parts(node.verdicts).values()
        )

    # ------------------------------------------------------------ review and refine

    async def review(self, candidate_id: str) -> Critique:
        """Reviewer's critique of a failing candidate, stored on its node. A text is reviewed
        once: a second (greedy) review of the same text and feedback would repeat the first,
        so a candidate reviewed before, or a copy of one (a rewrite identical to its parent),
        gets the stored critique."""
        node = self.node(candidate_id)
        if node.critique:
            return self.critique_of(candidate_id)
        reviewed = next(
            (
                n
                for n in self._same_text(candidate_id)
                if n.critique and n.feedback == node.feedback
            ),
            None,
        )
        if reviewed is not None:
            self._store_critique(candidate_id, self.critique_of(reviewed.id))
            return self.critique_of(candidate_id)
        critique = await self.reviewer.review(
            self.task,
            self.draft(candidate_id),
            node.feedback,
            node.step_scores or None,
            self.budget,
            seed=self.seed_for("review", candidate_id),
            origin=self.origin(candidate_id),
        )
        self._store_critique(candidate_id, critique)
        return critique

    def _store_critique(self, candidate_id: str, critique: Critique) -> None:
        node = self.node(candidate_id)
        self.tree.update(
            candidate_id,
            critique=critique.text,
            meta=node.meta | {"wrong_step": critique.wrong_step},
        )

    def critique_of(self, candidate_id: str) -> Critique:
        node = self.node(candidate_id)
        return Critique(text=node.critique or node.feedback, wrong_step=node.meta.get("wrong_step"))

    async def revise(self, candidate_id: str, n: int = 1, greedy: bool = True) -> list[str]:
        """The Refiner's n rewrites of a candidate from its feedback and critique (one call),
        added as its children: refine's step, and mcts's expansion of a candidate node.

        A greedy rewrite of a text that was rewritten before (refine's best candidate again, or
        a rewrite that copied its parent) would repeat that rewrite word for word: it is
        sampled instead."""
        node = self.node(candidate_id)
        greedy = greedy and not self._rewritten_before(candidate_id)
        drafts = await self.refiner.revise(
            self.task,
            self.draft(candidate_id),
            node.feedback,
            self.critique_of(candidate_id),
            self.budget,
            n=self.budget.samples_left(n, self.refiner.settings.candidate_max_tokens),
            greedy=greedy,
            seed=self._revise_seed(candidate_id, n, greedy),
            origin=self.origin(candidate_id),
        )
        return [self.add_candidate(candidate_id, d, refined_from=candidate_id) for d in drafts]

    def _rewritten_before(self, candidate_id: str) -> bool:
        """Whether this candidate, or another with the same text, already has a rewrite."""
        return any(
            any(c.kind == "candidate" for c in self.tree.children(node.id))
            for node in self._same_text(candidate_id)
        )

    def _same_text(self, candidate_id: str) -> Iterator[Node]:
        """The candidates whose text is this one's (itself included): copies of one program
        get the same greedy review and rewrite."""
        text = self.node(candidate_id).text
        return (node for node in self.tree.candidates() if node.text == text)

    def _revise_seed(self, candidate_id: str, n: int, greedy: bool) -> int:
        if greedy and n == 1:  # refine's rewrite: the seed (and cache key) it always had
            return self.seed_for("patch", candidate_id)
        return self.seed_for("revise", candidate_id, len(self.tree.children(candidate_id)))

    # ------------------------------------------------------------ choosing

    def live_candidates(self, exclude: list[str] | None = None) -> list[Node]:
        """The candidates that parsed, in creation order, less those in `exclude`."""
        skip = set(exclude or [])
        return [n for n in self.tree.candidates() if n.parse_error is None and n.id not in skip]

    def best(self, exclude: list[str] | None = None) -> Node | None:
        """The best candidate by verifiers (passed, then score, then value, then age)."""
        cands = self.live_candidates(exclude)
        return max(cands, key=self._rank) if cands else None

    def progress(self) -> dict[str, Any]:
        """The best candidate so far, for progress events (kept incrementally: O(1) per phase)."""
        if self._best is None:
            best = self.best()
            if best is None:
                return {"best": "", "best_score": 0.0}
            self._best = (self._rank(best), best.id)
        best_id = self._best[1]
        return {"best": best_id, "best_score": self.value(best_id)}


class Strategy(ABC):
    """A search algorithm, as phases. Each phase returns the next phase (the graph's edge).

    Phases a strategy does not use are never routed to; the defaults raise to say so.
    `finalize` is generic: `settle`, then the best candidate by verifiers (`choose` may be
    overridden). `State` declares the state the phases keep: the keys a phase may return.
    """

    name: ClassVar[str]
    Options: ClassVar[type[StrategyOptions]] = StrategyOptions
    State: ClassVar[type[SearchState]] = SearchState  # SearchState plus the strategy's own keys

    def __init__(self, options: StrategyOptions | None = None) -> None:
        self.options = options or self.Options()

    async def select(self, ctx: SearchContext, state: SearchState) -> Step:
        raise NotImplementedError(f"{self.name} has no select phase")

    async def expand(self, ctx: SearchContext, state: SearchState) -> Step:
        raise NotImplementedError(f"{self.name} has no expand phase")

    async def execute(self, ctx: SearchContext, state: SearchState) -> Step:
        """Run the verifiers on the fresh candidates, then score."""
        await ctx.verify(state.get("fresh", []))
        return Step("score")

    async def score(self, ctx: SearchContext, state: SearchState) -> Step:
        raise NotImplementedError(f"{self.name} has no score phase")

    async def review(self, ctx: SearchContext, state: SearchState) -> Step:
        """Critique each failing candidate, then refine."""
        for candidate_id in state.get("failing", []):
            if ctx.budget.exhausted():
                break
            await ctx.review(candidate_id)
        return Step("refine")

    async def refine(self, ctx: SearchContext, state: SearchState) -> Step:
        raise NotImplementedError(f"{self.name} has no refine phase")

    async def backpropagate(self, ctx: SearchContext, state: SearchState) -> Step:
        raise NotImplementedError(f"{self.name} has no backpropagate phase")

    async def settle(self, ctx: SearchContext, state: SearchState) -> dict[str, Any]:
        """Bookkeeping owed before the search ends, however it ends (the budget can stop it
        between any two phases): state updates. No model or sandbox calls here."""
        return {}

    def choose(self, ctx: SearchContext, state: SearchState) -> Node | None:
        """The final candidate: the best by verifiers, skipping ones a person rejected."""
        return ctx.best(exclude=state.get("rejected"))


class RootOnceStrategy(Strategy):
    """A strategy whose search starts from one expansion of the root (sampling, refinement)."""

    async def select(self, ctx: SearchContext, state: SearchState) -> Step:
        if state.get("iteration", 0) >= 1:
            return Step("finalize", {"stop": "done"})
        return Step("expand", {"frontier": [ctx.tree.root_id]})


def answer_key(node: Node) -> str:
    """A candidate's final answer with whitespace normalised, for counting votes."""
    return " ".join((node.answer or "").split())


def solved_updates(ctx: SearchContext, ids: list[str]) -> dict[str, Any]:
    """State updates that record an early stop when one of `ids` passed every public test."""
    if any(ctx.is_solved(i) for i in ids):
        return {"solved": True, "stop": "a candidate passed every public test"}
    return {}
