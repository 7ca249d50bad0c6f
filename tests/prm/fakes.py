"""Test doubles for the PRM tests: an LLM that answers yes/no with logprobs."""

from __future__ import annotations

import math

from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob


class YesNoLLM(LLM):
    """Says Yes with P=0.8, or P=0.3 when the last step line of the question says 'wrong'."""

    name = "yes-no"

    def __init__(self, logprobs: bool = True) -> None:
        self.with_logprobs = logprobs
        self.calls: list[list[Message]] = []

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        self.calls.append(messages)
        steps = [line for line in messages[-1]["content"].splitlines() if line.startswith("Step ")]
        p = 0.3 if steps and "wrong" in steps[-1] else 0.8
        word = "Yes" if p > 0.5 else "No"
        lps = [
            TokenLogprob(word, math.log(max(p, 1 - p)), {"Yes": math.log(p), "No": math.log(1 - p)})
        ]
        comp = Completion(word, "stop", 1, lps if self.with_logprobs else None)
        return Generation([comp] * params.n, prompt_tokens=10, model=self.name)
