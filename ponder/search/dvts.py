"""dvts: diverse verifier tree search: independent subtrees, each a greedy beam under a step scorer.

Beam search keeps the global top paths, so one strong early prefix can crowd out every other
line of attack. DVTS (as in HuggingFace's search-and-learn) forks `subtrees` first steps from
the root and then grows each subtree on its own: every path proposes `k` next steps and only
its best continuation, by the step scorer (prm, judge, plug-ins), goes on. With N = subtrees * k
generations per depth it spends what a beam of width `subtrees` spends, with more diversity.
"""

from __future__ import annotations

from pydantic import Field

from ponder.search.base import SearchContext, Step
from ponder.search.beam import Beam, BeamOptions, BeamState, room_for_steps
from ponder.search.registry import register_strategy


class DVTSOptions(BeamOptions):
    subtrees: int = Field(2, ge=1, description="independent subtrees forked at the root")


@register_strategy("dvts")
class DVTS(Beam):
    Options = DVTSOptions
    options: DVTSOptions

    async def expand(self, ctx: SearchContext, state: BeamState) -> Step:
        fork = state.get("depth", 0) == 0 and state["frontier"] == [ctx.tree.root_id]
        if fork and room_for_steps(ctx, self.options.subtrees):
            # The fork: one call proposes every subtree's first step.
            fresh = await ctx.propose_each([ctx.tree.root_id], self.options.subtrees)
            return Step("score", {"fresh": fresh})
        return await super().expand(ctx, state)

    def keep(self, ctx: SearchContext, ranked: list[str], depth: int) -> list[str]:
        """Every subtree keeps its own best continuation (the fork keeps all first steps)."""
        if depth == 0:
            return list(ranked)
        kept: dict[str, str] = {}
        for node_id in ranked:  # best first: the first child seen of each parent wins
            kept.setdefault(ctx.node(node_id).parent, node_id)
        return list(kept.values())
