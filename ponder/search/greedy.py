"""greedy: one candidate at temperature 0 from the plain prompt, verified."""

from __future__ import annotations

from ponder.search.base import SearchContext, SearchState, Step, Strategy, solved_updates
from ponder.search.registry import register_strategy


@register_strategy("greedy")
class Greedy(Strategy):
    async def select(self, ctx: SearchContext, state: SearchState) -> Step:
        if state.get("iteration", 0) >= 1:
            return Step("finalize", {"stop": "done"})
        return Step("expand", {"frontier": [ctx.tree.root_id]})

    async def expand(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = await ctx.complete(ctx.tree.root_id, n=1, greedy=True)
        return Step("execute", {"fresh": fresh})

    async def score(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = state.get("fresh", [])
        return Step("finalize", {"iteration": 1, "stop": "done", **solved_updates(ctx, fresh)})
