"""Solver: proposes k next thoughts in one call, or complete candidates from a path of thoughts."""

from __future__ import annotations

from ponder.agents.base import AgentSettings, Draft
from ponder.budget import Budget
from ponder.errors import OutputParseError
from ponder.kinds import kind_for
from ponder.kinds.origin import FROM_SCRATCH, Origin
from ponder.llm.base import SamplingParams
from ponder.llm.client import ModelClient


class Solver:
    """Generates thoughts (plan steps) and candidates (whole programs or solutions)."""

    def __init__(self, model: ModelClient, settings: AgentSettings | None = None) -> None:
        self.model = model
        self.settings = settings or AgentSettings()

    def _params(self, n: int, max_tokens: int, greedy: bool, seed: int | None) -> SamplingParams:
        s = self.settings
        temperature = s.greedy_temperature if greedy else s.sample_temperature
        return SamplingParams(
            n=n,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=1.0 if greedy else s.top_p,
            seed=seed,
        )

    async def propose(
        self, task, steps: list[str], k: int, budget: Budget, *, seed: int | None = None
    ) -> list[Draft]:
        """k candidate next steps after `steps`, sampled in ONE call (n=k)."""
        kind = kind_for(task, self.settings)
        messages = kind.render("thought", task=task, steps=steps)
        params = self._params(k, self.settings.thought_max_tokens, greedy=k == 1, seed=seed)
        gen = await self.model.generate(messages, params, budget=budget)
        drafts = []
        for completion in gen.completions:
            try:
                thought = kind.parse_thought(completion.text)
                drafts.append(
                    Draft(
                        completion.text,
                        thought,
                        [*steps, thought],
                        tokens=completion.completion_tokens,
                    )
                )
            except OutputParseError as exc:
                drafts.append(
                    Draft(
                        completion.text,
                        None,
                        list(steps),
                        exc.message,
                        completion.completion_tokens,
                    )
                )
        return drafts

    async def complete(
        self,
        task,
        steps: list[str],
        n: int,
        budget: Budget,
        *,
        greedy: bool = False,
        seed: int | None = None,
        origin: Origin = FROM_SCRATCH,
    ) -> list[Draft]:
        """n complete candidates that follow the plan `steps` (no plan: the plain prompt),
        built on `origin` where the kind keeps state (a repair builds on the root's patch)."""
        kind = kind_for(task, self.settings)
        messages = kind.render("candidate", task=task, steps=steps, origin=origin)
        params = self._params(n, self.settings.candidate_max_tokens, greedy=greedy, seed=seed)
        gen = await self.model.generate(messages, params, budget=budget)
        return [
            kind.parse_candidate(c.text, task, steps, c.completion_tokens, origin)
            for c in gen.completions
        ]
