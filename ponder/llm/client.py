"""ModelClient: wraps a backend with the response cache and budget accounting."""

from __future__ import annotations

import functools
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

    @functools.cached_property
    def runs_on(self) -> str:
        """What besides the model string decides a deterministic answer: the engine (library,
        version, CPU kernels) and the model file's hash. Part of the cache key, so that a new
        llama.cpp build or a replaced model file is asked again rather than replaying answers
        that another build gave (and that provenance would then misattribute)."""
        from ponder.provenance import engine, model_sha256

        return " | ".join(filter(None, (engine(self.name), model_sha256(self.name))))

    async def generate(
        self, messages: list[Message], params: SamplingParams, budget: Budget | None = None
    ) -> Generation:
        use_cache = self.cache is not None and params.deterministic
        gen = self.cache.get(self.llm.name, messages, params, self.runs_on) if use_cache else None
        if gen is None:
            start = time.monotonic()
            gen = await self.llm.generate(messages, params)
            gen.seconds = time.monotonic() - start
            gen.cached = False
            if use_cache:
                self.cache.put(self.llm.name, messages, params, gen, self.runs_on)
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
