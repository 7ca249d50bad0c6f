"""magicore: solve k; easy problems by weighted aggregation, hard ones by Reviewer/Refiner rounds."""

from __future__ import annotations

from collections import defaultdict

from pydantic import Field

from ponder.search.base import (
    RootOnceStrategy,
    SearchContext,
    SearchState,
    Step,
    StrategyOptions,
    answer_key,
    solved_updates,
)
from ponder.search.registry import register_strategy
from ponder.tree import Node


class MagicoreState(SearchState, total=False):
    """What MAgICoRe keeps between phases, besides the shared state."""

    rounds: int  # Reviewer/Refiner rounds done on a hard problem


class MagicoreOptions(StrategyOptions):
    k: int = Field(4, ge=1, description="initial solutions (one call, n=k)")
    easy_agreement: float = Field(
        0.6, ge=0.0, le=1.0, description="answer agreement that makes a problem easy"
    )
    easy_score: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="mean verifier score of the majority answer that makes a problem easy",
    )
    refine_top: int = Field(2, ge=1, description="candidates refined per round on hard problems")
    max_rounds: int = Field(3, ge=0, description="Reviewer/Refiner rounds on hard problems")


@register_strategy("magicore")
class Magicore(RootOnceStrategy):
    Options = MagicoreOptions
    State = MagicoreState
    options: MagicoreOptions

    async def expand(self, ctx: SearchContext, state: MagicoreState) -> Step:
        fresh = await ctx.complete(ctx.tree.root_id, n=self.options.k)
        return Step("execute", {"fresh": fresh, "iteration": 1})

    def _groups(
        self, ctx: SearchContext, exclude: list[str] | None = None
    ) -> dict[str, list[Node]]:
        groups: dict[str, list[Node]] = defaultdict(list)
        for node in ctx.live_candidates(exclude):
            groups[answer_key(node)].append(node)
        return groups

    def _agreement(self, ctx: SearchContext) -> float:
        groups = self._groups(ctx)
        total = sum(len(g) for g in groups.values())
        return max((len(g) for g in groups.values()), default=0) / total if total else 0.0

    async def score(self, ctx: SearchContext, state: MagicoreState) -> Step:
        fresh = state.get("fresh", [])
        solved = solved_updates(ctx, fresh)
        if solved:
            return Step("finalize", solved)
        live = ctx.live_candidates()
        groups = self._groups(ctx)
        top = max(groups.values(), key=len) if groups else []
        mean = sum(ctx.value(n.id) for n in top) / len(top) if top else 0.0
        agreement = self._agreement(ctx)
        easy = agreement >= self.options.easy_agreement and mean >= self.options.easy_score
        label = {"agreement": round(agreement, 3), "majority_score": round(mean, 3)}
        if easy:
            return Step("finalize", {"stop": f"easy: aggregated ({label})"})
        rounds = state.get("rounds", 0)
        if rounds >= self.options.max_rounds or not live and rounds > 0:
            return Step("finalize", {"stop": f"hard: {rounds} refinement rounds done ({label})"})
        pool = live or [ctx.node(i) for i in fresh]
        ranked = sorted(pool, key=lambda n: (ctx.value(n.id), -int(n.id[1:])), reverse=True)
        # Refine the leaves only: candidates already refined were replaced by their children.
        targets = [
            n.id for n in ranked if not any(c.kind == "candidate" for c in ctx.tree.children(n.id))
        ]
        return Step("review", {"failing": targets[: self.options.refine_top]})

    async def refine(self, ctx: SearchContext, state: MagicoreState) -> Step:
        fresh = []
        for candidate_id in state.get("failing", []):
            if ctx.budget.exhausted():
                break
            fresh += await ctx.revise(candidate_id)
        return Step("execute", {"fresh": fresh, "rounds": state.get("rounds", 0) + 1})

    def choose(self, ctx: SearchContext, state: SearchState) -> Node | None:
        """Weighted aggregation: the answer group with the largest summed verifier score."""
        groups = self._groups(ctx, exclude=state.get("rejected"))
        if not groups:
            return None
        passed = [n for g in groups.values() for n in g if n.passed is True]
        if passed:
            return min(passed, key=lambda n: int(n.id[1:]))
        heaviest = max(groups.values(), key=lambda g: (sum(ctx.value(n.id) for n in g), len(g)))
        return max(heaviest, key=lambda n: (ctx.value(n.id), -int(n.id[1:])))
