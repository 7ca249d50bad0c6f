"""The `judge` verifier: the LLM says whether a candidate (and each of its steps) is correct."""

from __future__ import annotations

import asyncio
import math
import re

from ponder.budget import Budget
from ponder.llm.base import Completion, SamplingParams
from ponder.llm.client import ModelClient
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.prompting import chat, clip
from ponder.verifiers.registry import register_verifier

_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def p_yes(completion: Completion) -> tuple[float | None, str]:
    """P("yes") of a yes/no answer and how it was found ("logprobs" / "text" / "unparsed").

    With logprobs, the first answer token's alternatives give P(yes) / (P(yes) + P(no));
    otherwise the text's leading yes/no gives 1.0 or 0.0.
    """
    for tok in completion.logprobs or []:
        if not tok.token.strip():
            continue
        alternatives = dict(tok.top) or {tok.token: tok.logprob}
        alternatives.setdefault(tok.token, tok.logprob)
        mass = {"yes": 0.0, "no": 0.0}
        for text, logprob in alternatives.items():
            word = text.strip().lower()
            if word in mass:
                mass[word] += math.exp(logprob)
        if mass["yes"] + mass["no"] > 0:
            return mass["yes"] / (mass["yes"] + mass["no"]), "logprobs"
        break
    match = _YES_NO.match(completion.text)
    if match:
        return (1.0 if match.group(1).lower() == "yes" else 0.0), "text"
    return None, "unparsed"


@register_verifier("judge")
class JudgeVerifier:
    """A generative verifier: asks the model "is this correct? yes/no" for the whole candidate
    and, when the candidate has steps, for each step given the ones before it.

    score = P(yes) for the whole candidate; step_scores = P(yes) per step; passed is None
    (an opinion, not a proof).
    """

    name = "judge"

    def __init__(
        self,
        model: ModelClient,
        budget: Budget | None = None,
        per_step: bool = True,
        max_steps: int = 12,
    ) -> None:
        self.model = model
        self.budget = budget
        self.per_step = per_step
        self.max_steps = max_steps
        self.params = SamplingParams(n=1, max_tokens=4, temperature=0.0, logprobs=True)

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        return list(await asyncio.gather(*(self._one(task, c) for c in candidates)))

    async def _ask(self, messages) -> tuple[float | None, str, str]:
        gen = await self.model.generate(messages, self.params, budget=self.budget)
        score, how = p_yes(gen.completions[0])
        return score, how, gen.text

    async def _one(self, task: VisibleTask, candidate: Candidate) -> Verdict:
        steps = candidate.steps[: self.max_steps] if self.per_step else []
        whole = chat(
            "judge_system.j2",
            "judge_candidate.j2",
            task=task,
            solution=clip(candidate.text),
            steps=[clip(s, 1500) for s in candidate.steps],
            answer=candidate.answer,
        )
        step_chats = [
            chat(
                "judge_system.j2",
                "judge_step.j2",
                task=task,
                previous=[clip(s, 1500) for s in steps[:i]],
                step=clip(step, 1500),
                index=i + 1,
            )
            for i, step in enumerate(steps)
        ]
        answers = await asyncio.gather(self._ask(whole), *(self._ask(m) for m in step_chats))
        (score, how, text), step_answers = answers[0], answers[1:]
        step_scores = [s if s is not None else 0.5 for s, _, _ in step_answers] or None
        details = {"method": how, "reply": text[:200]}
        if score is None:
            return Verdict(
                score=0.5,
                step_scores=step_scores,
                feedback=f"the judge's reply was not yes/no: {text[:200]!r}",
                details=details,
            )
        feedback = f"judge: P(correct) = {score:.2f}"
        if step_scores:
            worst = min(range(len(step_scores)), key=step_scores.__getitem__)
            feedback += f"; weakest step {worst + 1} (P = {step_scores[worst]:.2f})"
        return Verdict(score=score, step_scores=step_scores, feedback=feedback, details=details)
