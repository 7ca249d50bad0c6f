"""tot: breadth-first tree of thoughts; each thought is valued by verifying a candidate written from it."""

from __future__ import annotations

from pydantic import Field

from ponder.search.base import (
    SearchContext,
    SearchState,
    Step,
    Strategy,
    StrategyOptions,
    solved_updates,
)
from ponder.search.registry import register_strategy


class ToTState(SearchState, total=False):
    """What tree of thoughts keeps between phases, besides the shared state."""

    depth: int  # levels of thoughts done (the frontier holds the states kept at this level)


class ToTOptions(StrategyOptions):
    k: int = Field(3, ge=1, description="thoughts proposed per kept state (one call, n=k)")
    breadth: int = Field(2, ge=1, description="states kept per level (BFS breadth b)")
    max_depth: int = Field(3, ge=1, description="levels of thoughts")


@register_strategy("tot")
class TreeOfThoughts(Strategy):
    Options = ToTOptions
    State = ToTState
    options: ToTOptions

    async def select(self, ctx: SearchContext, state: ToTState) -> Step:
        depth = state.get("depth", 0)
        if depth >= self.options.max_depth:
            return Step("finalize", {"stop": f"depth {depth} reached"})
        frontier = state.get("frontier") or [ctx.tree.root_id]
        return Step("expand", {"frontier": frontier})

    async def expand(self, ctx: SearchContext, state: ToTState) -> Step:
        fresh = await ctx.propose_each(state["frontier"], self.options.k)
        return Step("execute", {"fresh": fresh})

    async def execute(self, ctx: SearchContext, state: ToTState) -> Step:
        """The verifier values each new thought through a greedy candidate written from it."""
        await ctx.simulate(state.get("fresh", []))
        return Step("score")

    async def score(self, ctx: SearchContext, state: ToTState) -> Step:
        fresh = [i for i in state.get("fresh", []) if "rollout" in ctx.node(i).meta]
        values = {i: ctx.value(ctx.node(i).meta["rollout"]) for i in fresh}
        for thought_id, value in values.items():
            ctx.tree.backpropagate(thought_id, value)
        depth = state.get("depth", 0) + 1
        solved = solved_updates(ctx, [ctx.node(i).meta["rollout"] for i in fresh])
        if solved:
            return Step("finalize", {"depth": depth, "iteration": depth, **solved})
        ranked = sorted(fresh, key=lambda i: (values[i], -int(i[1:])), reverse=True)
        keep, drop = ranked[: self.options.breadth], ranked[self.options.breadth :]
        for node_id in drop:
            ctx.tree.update(node_id, status="pruned")
        if not keep or depth >= self.options.max_depth:
            return Step(
                "finalize",
                {
                    "depth": depth,
                    "iteration": depth,
                    "stop": "no state left" if not keep else f"depth {depth} reached",
                },
            )
        return Step("expand", {"frontier": keep, "depth": depth, "iteration": depth})
