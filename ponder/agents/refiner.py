"""Refiner: rewrites the first wrong thought (RethinkMCTS's rethink) or patches a candidate (Self-Refine)."""

from __future__ import annotations

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.kinds import kind_for
from ponder.agents.parsing import Critique
from ponder.agents.prompts import render
from ponder.budget import Budget
from ponder.errors import OutputParseError
from ponder.llm.base import SamplingParams
from ponder.llm.client import ModelClient


class Refiner:
    """Acts on a Reviewer's critique."""

    def __init__(self, model: ModelClient, settings: AgentSettings | None = None) -> None:
        self.model = model
        self.settings = settings or AgentSettings()

    async def rethink(
        self, task, steps: list[str], critique: Critique, budget: Budget, *, seed: int | None = None
    ) -> Draft:
        """A corrected version of thought `critique.wrong_step`; Draft.steps is the repaired path prefix."""
        wrong = critique.wrong_step if critique.wrong_step is not None else len(steps) - 1
        kind = kind_for(task, self.settings)
        messages = render(
            kind.name,
            kind.template("rethink"),
            task=task,
            steps=steps,
            wrong_step=wrong,
            critique=critique.text,
        )
        params = SamplingParams(
            n=1, max_tokens=self.settings.thought_max_tokens, temperature=0.0, seed=seed
        )
        gen = await self.model.generate(messages, params, budget=budget)
        try:
            thought = kind.parse_thought(gen.text)
        except OutputParseError as exc:
            return Draft(gen.text, None, steps[:wrong], exc.message, gen.completion_tokens)
        return Draft(gen.text, thought, [*steps[:wrong], thought], tokens=gen.completion_tokens)

    async def patch(
        self,
        task,
        candidate: Draft,
        feedback: str,
        critique: Critique,
        budget: Budget,
        *,
        seed: int | None = None,
    ) -> Draft:
        """A rewritten candidate that addresses the critique and the execution feedback."""
        kind = kind_for(task, self.settings)
        messages = render(
            kind.name,
            kind.template("patch"),
            task=task,
            candidate=candidate,
            feedback=feedback or "(no feedback)",
            critique=critique.text,
        )
        params = SamplingParams(
            n=1, max_tokens=self.settings.candidate_max_tokens, temperature=0.0, seed=seed
        )
        gen = await self.model.generate(messages, params, budget=budget)
        return kind.parse_candidate(
            gen.text, task, candidate.steps if kind.name == "code" else [], gen.completion_tokens
        )
