"""Solver: proposes k next thoughts in one call, or complete candidates from a path of thoughts."""

from __future__ import annotations

import asyncio
from itertools import zip_longest
from typing import TYPE_CHECKING

from ponder.agents.base import AgentSettings, Draft
from ponder.budget import Budget
from ponder.errors import OutputParseError
from ponder.kinds import kind_for
from ponder.kinds.origin import FROM_SCRATCH, Origin
from ponder.llm.client import ModelClient

if TYPE_CHECKING:  # kinds.base imports the agents' settings: a runtime import would cycle
    from ponder.kinds.base import Kind


class Solver:
    """Generates thoughts (plan steps) and candidates (whole programs or solutions)."""

    def __init__(self, model: ModelClient, settings: AgentSettings | None = None) -> None:
        self.model = model
        self.settings = settings or AgentSettings()

    async def propose(
        self, task, steps: list[str], k: int, budget: Budget, *, seed: int | None = None
    ) -> list[Draft]:
        """k candidate next steps after `steps`, sampled in ONE call (n=k)."""
        kind = kind_for(task, self.settings)
        messages = kind.render("thought", task=task, steps=steps)
        params = self.settings.sampling(
            k, self.settings.thought_max_tokens, greedy=k == 1, seed=seed
        )
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
        if self._draws_mixed(task, steps, n, greedy):
            return await self._mixed(task, kind, n, budget, seed)
        messages = kind.render("candidate", task=task, steps=steps, origin=origin)
        params = self.settings.sampling(
            n, self.settings.candidate_max_tokens, greedy=greedy, seed=seed
        )
        gen = await self.model.generate(messages, params, budget=budget)
        return [
            kind.parse_candidate(c.text, task, steps, c.completion_tokens, origin)
            for c in gen.completions
        ]

    def _draws_mixed(self, task, steps: list[str], n: int, greedy: bool) -> bool:
        """Mixed math mode splits a sampled draw from the root; a greedy or single sample is a
        program, and so is the continuation of a path of code steps."""
        mixed = self.settings.math_mode == "mixed" and task.kind == "math"
        return mixed and not greedy and n > 1 and not steps

    async def _mixed(
        self, task, kind: Kind, n: int, budget: Budget, seed: int | None
    ) -> list[Draft]:
        """n sampled math candidates, programs and prose in turn (a program first): two calls,
        one per prompt. Each reply is parsed by the program-aided `kind`, as what it holds,
        so a vote counts both."""
        prose = kind_for(task, self.settings.model_copy(update={"math_mode": "prose"}))
        cap = self.settings.candidate_max_tokens
        programs, reasoned = await asyncio.gather(  # one batch for a batching engine
            self.model.generate(
                kind.render("candidate", task=task, steps=[]),
                self.settings.sampling(n - n // 2, cap, greedy=False, seed=seed),
                budget=budget,
            ),
            self.model.generate(
                prose.render("candidate", task=task, steps=[]),
                self.settings.sampling(n // 2, cap, greedy=False, seed=seed),
                budget=budget,
            ),
        )
        completions = [
            c
            for pair in zip_longest(programs.completions, reasoned.completions)
            for c in pair
            if c is not None
        ]
        return [kind.parse_candidate(c.text, task, [], c.completion_tokens) for c in completions]
