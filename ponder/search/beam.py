"""beam: step-level beam search; any verifier that scores steps (judge, prm, plug-ins) ranks partial paths."""

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
from ponder.verifiers.base import Candidate, Verdict


class BeamState(SearchState, total=False):
    """What beam search (and DVTS) keeps between phases, besides the shared state."""

    depth: int  # plan steps done (the frontier holds the beams kept at this depth)


class BeamOptions(StrategyOptions):
    width: int = Field(2, ge=1, description="beams kept per step")
    k: int = Field(2, ge=1, description="next steps proposed per beam (one call, n=k)")
    max_depth: int = Field(3, ge=1, description="plan steps before candidates are written")
    scorer: str = Field(
        "judge", description="verifier that scores partial paths (uses step_scores)"
    )


def step_value(verdict: Verdict) -> float:
    """A partial path's value: the score of its last step, else the whole verdict's score."""
    return float(verdict.step_scores[-1]) if verdict.step_scores else float(verdict.score)


def room_for_steps(ctx: SearchContext, proposals: int) -> bool:
    """Whether a round of `proposals` plan steps, each at its token cap, still leaves the
    budget able to admit a candidate after it. A search that spends its budget on steps
    ends with nothing to return, so when the round would not leave that room the beams
    are completed now (from the root, that is the direct answer)."""
    left = [ctx.budget.remaining_completion_tokens(), ctx.budget.remaining_total_tokens()]
    cost = proposals * ctx.solver.settings.thought_max_tokens
    return all(t is None or t > cost for t in left)


@register_strategy("beam")
class Beam(Strategy):
    Options = BeamOptions
    State = BeamState
    options: BeamOptions

    async def select(self, ctx: SearchContext, state: BeamState) -> Step:
        return Step("expand", {"frontier": state.get("frontier") or [ctx.tree.root_id]})

    async def expand(self, ctx: SearchContext, state: BeamState) -> Step:
        beams = state["frontier"]
        deep = state.get("depth", 0) >= self.options.max_depth
        if deep or not room_for_steps(ctx, len(beams) * self.options.k):
            fresh = []
            for beam_id in beams:
                if ctx.budget.exhausted():
                    break
                fresh += await ctx.complete(beam_id, n=1, greedy=True)
            return Step("execute", {"fresh": fresh})
        return Step("score", {"fresh": await ctx.propose_each(beams, self.options.k)})

    async def score(self, ctx: SearchContext, state: BeamState) -> Step:
        fresh = state.get("fresh", [])
        if any(ctx.node(i).kind == "candidate" for i in fresh):
            return Step("finalize", {"stop": "beams completed", **solved_updates(ctx, fresh)})
        if not fresh:
            return Step("finalize", {"stop": "no step left to extend"})
        scorer = ctx.make_verifier(self.options.scorer)
        partial = [Candidate(id=i, text="\n".join(ctx.steps(i)), steps=ctx.steps(i)) for i in fresh]
        verdicts = await scorer.verify(ctx.task, partial)
        values = {}
        for node_id, verdict in zip(fresh, verdicts, strict=True):
            values[node_id] = step_value(verdict)
            ctx.tree.add_verdict(node_id, scorer.name, verdict)
            ctx.tree.update(node_id, step_scores=verdict.step_scores or [values[node_id]])
            ctx.tree.backpropagate(node_id, values[node_id])
        ranked = sorted(fresh, key=lambda i: (values[i], -int(i[1:])), reverse=True)
        kept = self.keep(ctx, ranked, state.get("depth", 0))
        for node_id in ranked:
            if node_id not in kept:
                ctx.tree.update(node_id, status="pruned")
        depth = state.get("depth", 0) + 1
        return Step("expand", {"frontier": kept, "depth": depth, "iteration": depth})

    def keep(self, ctx: SearchContext, ranked: list[str], depth: int) -> list[str]:
        """The paths that go on, from the fresh ones ranked best first: the global top `width`."""
        return ranked[: self.options.width]
