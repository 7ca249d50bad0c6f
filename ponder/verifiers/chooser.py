"""The `chooser` verifier: the LLM sees all candidates at once and picks the best one."""

from __future__ import annotations

import re

from ponder.budget import Budget
from ponder.llm.base import SamplingParams
from ponder.llm.client import ModelClient
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.prompting import chat, clip
from ponder.verifiers.registry import register_verifier

_NUMBER = re.compile(r"\d+")


def _show(task: VisibleTask, candidate: Candidate, limit: int) -> str:
    if task.kind == "code":
        return f"```python\n{clip(candidate.text, limit)}\n```"
    text = clip(candidate.text, limit)
    return f"{text}\nFinal answer: {candidate.answer}" if candidate.answer else text


@register_verifier("chooser")
class ChooserVerifier:
    """A discriminator (as SWE-agent's reviewer / SWE-Search's): one call shows every
    candidate (`max_chars` in all, split evenly); the chosen one scores 1, the others 0. An
    unparsable reply gives 0.5 to all.
    """

    name = "chooser"
    collective = True  # a choice means something only among every candidate

    def __init__(
        self, model: ModelClient, budget: Budget | None = None, max_chars: int = 12000
    ) -> None:
        self.model = model
        self.budget = budget
        self.max_chars = max_chars
        self.params = SamplingParams(n=1, max_tokens=8, temperature=0.0)

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if len(candidates) <= 1:
            return [
                Verdict(score=1.0, feedback="the only candidate", details={"chosen": 1})
                for _ in candidates
            ]
        per_candidate = max(600, self.max_chars // len(candidates))
        shown = [_show(task, c, per_candidate) for c in candidates]
        messages = chat("chooser_system.j2", "chooser.j2", task=task, candidates=shown)
        gen = await self.model.generate(messages, self.params, budget=self.budget)
        numbers = [int(m) for m in _NUMBER.findall(gen.text)]
        chosen = next((k for k in numbers if 1 <= k <= len(candidates)), None)
        if chosen is None:
            return [
                Verdict.unknown(f"the chooser's reply named no candidate: {gen.text[:200]!r}")
                for _ in candidates
            ]
        return [
            Verdict(
                score=1.0 if i + 1 == chosen else 0.0,
                feedback=f"chooser picked candidate {chosen} of {len(candidates)}",
                details={"chosen": chosen, "position": i + 1},
            )
            for i in range(len(candidates))
        ]
