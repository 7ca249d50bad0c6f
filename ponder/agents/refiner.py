"""Refiner: rewrites the first wrong thought (RethinkMCTS's rethink) or patches a candidate (Self-Refine)."""

from __future__ import annotations

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import Critique
from ponder.budget import Budget
from ponder.errors import OutputParseError
from ponder.kinds import kind_for
from ponder.kinds.origin import FROM_SCRATCH, Origin
from ponder.llm.client import ModelClient


class Refiner:
    """Acts on a Reviewer's critique."""

    def __init__(self, model: ModelClient, settings: AgentSettings | None = None) -> None:
        self.model = model
        self.settings = settings or AgentSettings()

    async def rethink(
        self,
        task,
        steps: list[str],
        critique: Critique,
        budget: Budget,
        *,
        greedy: bool = True,
        seed: int | None = None,
    ) -> Draft:
        """A corrected version of thought `critique.wrong_step` (greedy by default, sampled
        with `greedy=False`); Draft.steps is the repaired path prefix."""
        wrong = critique.wrong_step if critique.wrong_step is not None else len(steps) - 1
        kind = kind_for(task, self.settings)
        messages = kind.render(
            "rethink",
            task=task,
            steps=steps,
            wrong_step=wrong,
            critique=critique.text,
        )
        params = self.settings.sampling(1, self.settings.thought_max_tokens, greedy, seed)
        gen = await self.model.generate(messages, params, budget=budget)
        try:
            thought = kind.parse_thought(gen.text)
        except OutputParseError as exc:
            return Draft(gen.text, None, steps[:wrong], exc.message, gen.completion_tokens)
        return Draft(gen.text, thought, [*steps[:wrong], thought], tokens=gen.completion_tokens)

    async def revise(
        self,
        task,
        candidate: Draft,
        feedback: str,
        critique: Critique,
        budget: Budget,
        *,
        n: int = 1,
        greedy: bool = True,
        seed: int | None = None,
        origin: Origin = FROM_SCRATCH,
    ) -> list[Draft]:
        """n rewrites of a candidate that address the critique and the execution feedback
        (one call; greedy by default, sampled with `greedy=False`)."""
        kind = kind_for(task, self.settings)
        messages = kind.render(
            "revise",
            task=task,
            candidate=candidate,
            feedback=feedback or "(no feedback)",
            critique=critique.text,
            origin=origin,
        )
        params = self.settings.sampling(n, self.settings.candidate_max_tokens, greedy, seed)
        gen = await self.model.generate(messages, params, budget=budget)
        plan = candidate.steps if kind.name == "code" else []
        return [
            kind.parse_candidate(c.text, task, plan, c.completion_tokens, origin)
            for c in gen.completions
        ]
