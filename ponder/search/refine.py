"""refine: Self-Refine / IAD: a candidate, then critique-and-rewrite rounds on the best one so far."""

from __future__ import annotations

from pydantic import Field

from ponder.search.base import (
    RootOnceStrategy,
    SearchContext,
    SearchState,
    Step,
    StrategyOptions,
    solved_updates,
)
from ponder.search.registry import register_strategy
from ponder.tree import Node


class RefineState(SearchState, total=False):
    """What refine keeps between phases, besides the shared state."""

    rounds: int  # critique-then-refine rounds done


class RefineOptions(StrategyOptions):
    max_rounds: int = Field(
        3, ge=0, description="critique-then-refine rounds after the first candidate"
    )
    from_best: bool = Field(
        True, description="refine the best candidate so far (IAD), else the latest"
    )


@register_strategy("refine")
class Refine(RootOnceStrategy):
    Options = RefineOptions
    State = RefineState
    options: RefineOptions

    async def expand(self, ctx: SearchContext, state: RefineState) -> Step:
        fresh = await ctx.complete(ctx.tree.root_id, n=1, greedy=True)
        return Step("execute", {"fresh": fresh, "iteration": 1})

    async def score(self, ctx: SearchContext, state: RefineState) -> Step:
        fresh = state.get("fresh", [])
        solved = solved_updates(ctx, fresh)
        if solved:
            return Step("finalize", solved)
        rounds = state.get("rounds", 0)
        if rounds >= self.options.max_rounds:
            return Step("finalize", {"stop": f"{rounds} refinement rounds done"})
        target = ctx.best() if self.options.from_best else None
        target_id = target.id if target is not None else (fresh[-1] if fresh else None)
        if target_id is None:
            return Step("finalize", {"stop": "no candidate to refine"})
        return Step("review", {"failing": [target_id]})

    async def refine(self, ctx: SearchContext, state: RefineState) -> Step:
        # When no rewrite beat the best candidate, a later round rewrites it again:
        # ctx.revise samples that rewrite rather than repeat the greedy one.
        fresh = [i for cid in state.get("failing", []) for i in await ctx.revise(cid)]
        return Step("execute", {"fresh": fresh, "rounds": state.get("rounds", 0) + 1})

    def choose(self, ctx: SearchContext, state: SearchState) -> Node | None:
        """The best by verifiers; among equals the latest refinement (it saw the most feedback)."""
        cands = ctx.live_candidates(exclude=state.get("rejected"))
        if not cands:
            return None
        return max(cands, key=lambda n: (n.passed is True, ctx.value(n.id), int(n.id[1:])))
