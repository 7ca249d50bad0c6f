"""The policy model as a generative PRM: P("Yes") to "is step k correct?" per step, from logprobs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ponder.budget import Budget
from ponder.llm.base import Message, SamplingParams
from ponder.prm.base import ScoreRequest, check_scores, register_scorer
from ponder.verifiers.judge import p_yes

SYSTEM = "You are a careful grader of step-by-step math solutions. Answer with Yes or No only."
QUESTION = (
    "Problem:\n{prompt}\n\nSolution steps so far:\n{steps}\n\n"
    "Is step {k} correct (right reasoning and arithmetic)? Answer Yes or No."
)


def judge_messages(request: ScoreRequest, k: int) -> list[Message]:
    """The chat asking whether step `k` (1-based) of `request` is correct."""
    steps = "\n".join(f"Step {i}: {s}" for i, s in enumerate(request.steps[:k], start=1))
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION.format(prompt=request.prompt, steps=steps, k=k)},
    ]


class JudgeScorer:
    """Asks the policy model, one step at a time, whether each step is correct."""

    def __init__(self, model: Any, budget: Budget | None = None, concurrency: int = 4) -> None:
        if isinstance(model, str):
            from ponder.llm import open_model

            model = open_model(model)
        self.model = model
        self.budget = budget
        self.params = SamplingParams(n=1, max_tokens=1, temperature=0.0, logprobs=True)
        self._slots = asyncio.Semaphore(concurrency)
        self.name = f"judge:{getattr(model, 'name', 'model')}"

    async def _one(self, request: ScoreRequest) -> list[float]:
        out = []
        async with self._slots:
            # In order, so a server's prefix cache reuses the growing solution.
            for k in range(1, len(request.steps) + 1):
                gen = await self.model.generate(
                    judge_messages(request, k), self.params, budget=self.budget
                )
                p, _how = p_yes(gen.completions[0])
                out.append(0.5 if p is None else p)
        return out

    async def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        scores = list(await asyncio.gather(*(self._one(r) for r in requests)))
        check_scores(self.name, requests, scores)
        return scores


@register_scorer("judge")
def open_judge(model: Any, budget: Budget | None = None, **options: Any) -> JudgeScorer:
    return JudgeScorer(model, budget=budget, **options)
