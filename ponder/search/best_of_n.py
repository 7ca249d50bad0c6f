"""best_of_n: n sampled candidates from one call; the verifiers pick the best."""

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


class BestOfNOptions(StrategyOptions):
    n: int = Field(4, ge=1, description="candidates sampled (one call, n=n)")
    include_greedy: bool = Field(True, description="add the temperature-0 candidate as well")


@register_strategy("best_of_n")
class BestOfN(RootOnceStrategy):
    Options = BestOfNOptions
    options: BestOfNOptions

    async def expand(self, ctx: SearchContext, state: SearchState) -> Step:
        root = ctx.tree.root_id
        fresh = await ctx.complete(root, n=1, greedy=True) if self.options.include_greedy else []
        if self.options.n > len(fresh) and not ctx.budget.exhausted():
            fresh += await ctx.complete(root, n=self.options.n - len(fresh))
        return Step("execute", {"fresh": fresh})

    async def score(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = state.get("fresh", [])
        return Step("finalize", {"iteration": 1, "stop": "done", **solved_updates(ctx, fresh)})
