"""ModelClient: wraps a backend with the response cache, retries and budget accounting."""

from __future__ import annotations

import time

from ponder.budget import Budget
from ponder.llm.base import LLM, Generation, Message, SamplingParams


class ModelClient:
    """What agents call. One client can serve many runs; each call charges the given budget."""

    def __init__(self, llm: LLM, cache=None) -> None:  # cache: ResponseCache | None
        self.llm = llm
        self.cache = cache

    @property
    def name(self) -> str:
        return self.llm.name

    @property
    def batches(self) -> bool:
        return self.llm.batches

    async def generate(
        self, messages: list[Message], params: SamplingParams, budget: Budget | None = None
    ) -> Generation:
        start = time.monotonic()
        gen = None
        if self.cache is not None and params.deterministic:
            gen = self.cache.get(self.llm.name, messages, params)
        if gen is None:
            gen = await self.llm.generate(messages, params)
            gen.seconds = time.monotonic() - start
            if self.cache is not None and params.deterministic:
                self.cache.put(self.llm.name, messages, params, gen)
        if budget is not None:
            budget.record_llm(gen.prompt_tokens, gen.completion_tokens, gen.seconds, gen.cached)
        return gen

    async def aclose(self) -> None:
        await self.llm.aclose()
