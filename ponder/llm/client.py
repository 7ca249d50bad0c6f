"""ModelClient: wraps a backend with the response cache and budget accounting."""

from __future__ import annotations

import time

from ponder.budget import Budget
from ponder.llm.base import LLM, Generation, Message, SamplingParams
from ponder.llm.cache import ResponseCache


class ModelClient:
    """What agents call. One client can serve many runs; each call charges the given budget.

    With a cache, deterministic calls (temperature 0 or a seed) are answered from it when
    possible. A cache hit charges the budget the tokens and seconds of the original call,
    flagged as cached, so a rerun reports the same compute as the run it replays.
    Retries on transient errors live in the backends that talk to servers.
    """

    def __init__(self, llm: LLM, cache: ResponseCache | None = None) -> None:
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
        use_cache = self.cache is not None and params.deterministic
        gen = self.cache.get(self.llm.name, messages, params) if use_cache else None
        if gen is None:
            start = time.monotonic()
            gen = await self.llm.generate(messages, params)
            gen.seconds = time.monotonic() - start
            gen.cached = False
            if use_cache:
                self.cache.put(self.llm.name, messages, params, gen)
        if budget is not None:
            budget.record_llm(
                gen.prompt_tokens,
                gen.completion_tokens,
                gen.seconds,
                gen.cached,
                samples=len(gen.completions),
            )
        return gen

    async def aclose(self) -> None:
        await self.llm.aclose()
        if self.cache is not None:
            self.cache.close()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
