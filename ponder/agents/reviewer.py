"""Reviewer: critiques a failing candidate from execution feedback and step scores, naming the first wrong step."""

from __future__ import annotations

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import Critique
from ponder.budget import Budget
from ponder.errors import OutputParseError
from ponder.kinds import kind_for
from ponder.kinds.origin import FROM_SCRATCH, Origin
from ponder.llm.client import ModelClient


class Reviewer:
    """Turns a verdict's feedback and per-step scores into targeted verbal feedback (MAgICoRe)."""

    def __init__(self, model: ModelClient, settings: AgentSettings | None = None) -> None:
        self.model = model
        self.settings = settings or AgentSettings()

    async def review(
        self,
        task,
        candidate: Draft,
        feedback: str,
        step_scores: list[float] | None,
        budget: Budget,
        *,
        seed: int | None = None,
        origin: Origin = FROM_SCRATCH,
    ) -> Critique:
        """Critique `candidate`; when the model's reply is unusable, fall back on the step scores."""
        steps = candidate.steps
        kind = kind_for(task, self.settings)
        messages = kind.render(
            "review",
            task=task,
            candidate=candidate,
            steps=steps,
            feedback=feedback or "(no feedback)",
            step_scores=step_scores or [],
            origin=origin,
        )
        params = self.settings.sampling(
            1, self.settings.critique_max_tokens, greedy=True, seed=seed
        )
        gen = await self.model.generate(messages, params, budget=budget)
        try:
            critique = kind.parse_critique(gen.text, steps)
        except OutputParseError:
            critique = Critique(
                text=feedback or "the candidate failed verification", wrong_step=None
            )
        if critique.wrong_step is None and step_scores:
            # The PRM-style signal locates the error when the model does not (AutoMathCritique).
            lowest = min(
                range(min(len(step_scores), len(steps)) or 1), key=lambda i: step_scores[i]
            )
            critique = Critique(text=critique.text, wrong_step=lowest if steps else None)
        return critique
