"""A scripted model for the repair tests: edit replies in order, fixed answers to the rest."""

from __future__ import annotations

from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM


class RepairScript:
    """Answers edit prompts from `edits` (in order, the last one repeating), reviews with
    `review`, localization with `pick`, and the chooser with `choose`."""

    def __init__(
        self,
        edits: list[str],
        review: str = "It misses a case.\nScore: 3",
        pick: str = "",
        choose: str = "1",
    ) -> None:
        self.edits = edits
        self.review = review
        self.pick = pick
        self.choose = choose
        self.edit_prompts: list[str] = []
        self.kinds: list[str] = []
        self.given = 0

    def __call__(self, messages, params):
        text = messages[-1]["content"]
        if "Which file most likely contains the bug" in text:
            self.kinds.append("localize")
            return [self.pick] * params.n
        if "Score: N" in text:
            self.kinds.append("review")
            return [self.review] * params.n
        if "Which candidate" in text:
            self.kinds.append("choose")
            return [self.choose] * params.n
        self.kinds.append("edit")
        self.edit_prompts.append(text)
        out = []
        for _ in range(params.n):
            out.append(self.edits[min(self.given, len(self.edits) - 1)])
            self.given += 1
        return out


def scripted_client(script: RepairScript) -> ModelClient:
    return ModelClient(ScriptedLLM(script))
