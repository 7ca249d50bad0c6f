"""self_consistency: n sampled solutions; the most common final answer wins (majority vote).

On math the `majority` verifier votes: a program-aided solution votes for the value its
program printed, and one whose program failed casts no vote. A tie goes to the answer whose
first candidate came first (the vote's `rank`); within the winning answer, the candidate
that passed, then the higher value, then the earlier one.
"""

from __future__ import annotations

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

# The verifier that votes over all answers, per task kind; kinds without one vote by
# identical (whitespace-normalised) answers. Code votes by behaviour: programs that return the
# same values on generated inputs are one answer, however they are written.
VOTERS: dict[str, str] = {"math": "majority", "code": "generated_tests"}


class SelfConsistencyOptions(StrategyOptions):
    n: int = Field(5, ge=1, description="solutions sampled (one call, n=n)")
    vote: str | None = Field(None, description="verifier that votes (default: the task kind's)")


@register_strategy("self_consistency")
class SelfConsistency(RootOnceStrategy):
    Options = SelfConsistencyOptions
    options: SelfConsistencyOptions

    async def expand(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = await ctx.complete(ctx.tree.root_id, n=self.options.n)
        return Step("execute", {"fresh": fresh})

    def _voter(self, ctx: SearchContext) -> str | None:
        return self.options.vote or VOTERS.get(ctx.task.kind)

    async def execute(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = state.get("fresh", [])
        voter = self._voter(ctx)
        if voter != ctx.verifier.name:
            await ctx.verify(fresh)
        if voter is not None:
            await ctx.verify(fresh, ctx.make_verifier(voter))
        return Step("score")

    async def score(self, ctx: SearchContext, state: SearchState) -> Step:
        fresh = state.get("fresh", [])
        return Step("finalize", {"iteration": 1, "stop": "done", **solved_updates(ctx, fresh)})

    def choose(self, ctx: SearchContext, state: SearchState) -> Node | None:
        cands = ctx.live_candidates(exclude=state.get("rejected"))
        if not cands:
            return None

        voter = self._voter(ctx)
        counts: dict[str, int] = {}
        for n in cands:
            counts[answer_key(n)] = counts.get(answer_key(n), 0) + 1

        def votes(n: Node) -> tuple[float, int]:
            if voter is not None:
                verdict = n.verdicts.get(voter, {})
                rank = (verdict.get("details") or {}).get("rank")
                return float(verdict.get("score", 0.0)), -(rank if rank is not None else len(cands))
            return counts[answer_key(n)] / len(cands), 0

        return max(
            cands, key=lambda n: (*votes(n), n.passed is True, ctx.value(n.id), -int(n.id[1:]))
        )
