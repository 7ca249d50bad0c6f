"""The model and sandbox as a run's search sees them: every call is first admitted by the Budget.

The runner hands agents and verifiers these wrappers, so generation, judge, chooser, PRM-judge
and tests calls are all charged to the run's Budget and bounded by it the same way: a call
the Budget refuses raises BudgetExhausted (the graph then finalizes), and a batch of samples
is cut to what fits (`Budget.hold_call`).

Before a refusal is raised, the calls already in flight are awaited: a refusal inside an
`asyncio.gather` would otherwise leave its admitted siblings running, unseen, after the
search has moved on, and their spend would land after the run's report.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ponder.budget import Budget, Hold
from ponder.errors import BudgetExhausted
from ponder.llm.base import Generation, Message, SamplingParams
from ponder.sandbox.base import ExecResult, Job, Sandbox

# Prompt tokens per character before a call has shown the real ratio: generous (tokenizers
# give about 0.25-0.35 on English and code), so the total-token limit errs on the safe side.
FIRST_TOKENS_PER_CHAR = 0.5


class Meter:
    """One run's gate on model and sandbox calls."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.tokens_per_char = FIRST_TOKENS_PER_CHAR
        self._seen_ratio = False

    @asynccontextmanager
    async def admit(self, hold: Callable[[], Hold]) -> AsyncIterator[Hold]:
        """Hold what the call may spend while it runs; a refusal waits out calls in flight."""
        try:
            held = hold()
        except BudgetExhausted:
            await self._idle.wait()
            raise
        self.in_flight += 1
        self._idle.clear()
        try:
            yield held
        finally:
            self.budget.release(held)
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    def prompt_tokens(self, messages: list[Message]) -> int:
        """A prompt's tokens, estimated from its characters at the highest ratio seen so far."""
        chars = sum(len(m["content"]) for m in messages)
        return int(chars * self.tokens_per_char) + 8 * len(messages)  # + chat-template tokens

    def learn(self, messages: list[Message], gen: Generation) -> None:
        chars = sum(len(m["content"]) for m in messages)
        if chars and gen.prompt_tokens:
            ratio = gen.prompt_tokens / chars
            self.tokens_per_char = (
                ratio if not self._seen_ratio else max(self.tokens_per_char, ratio)
            )
            self._seen_ratio = True

    def model(self, model: Any) -> MeteredModel:
        return MeteredModel(model, self)

    def sandbox(self, sandbox: Sandbox | None) -> MeteredSandbox | None:
        return None if sandbox is None else MeteredSandbox(sandbox, self)


class MeteredModel:
    """A ModelClient whose calls the run's Budget admits first and is charged for.

    Whatever budget a caller passes is ignored: every call is charged once, to the run's.
    Other attributes (name, batches, cache, ...) are the wrapped client's.
    """

    def __init__(self, model: Any, meter: Meter) -> None:
        self.model = model
        self.meter = meter

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    async def generate(
        self, messages: list[Message], params: SamplingParams, budget: Budget | None = None
    ) -> Generation:
        budget = self.meter.budget
        estimate = self.meter.prompt_tokens(messages) if budget.max_total_tokens else 0

        def hold() -> Hold:
            return budget.hold_call(params.n, params.max_tokens, estimate)

        async with self.meter.admit(hold) as held:
            if held.samples < params.n:
                params = dataclasses.replace(params, n=held.samples)
            gen = await self.model.generate(messages, params, budget=budget)
        self.meter.learn(messages, gen)
        return gen

    async def aclose(self) -> None:
        await self.model.aclose()


class MeteredSandbox(Sandbox):
    """A sandbox whose runs the run's Budget admits first (`max_sandbox_runs`): jobs, and
    repository test runs (`run_in_tree`).

    The verifiers charge each run (`Budget.record_sandbox`) once they have the result;
    this wrapper only admits, holding the run against the limit until it returns.
    """

    def __init__(self, inner: Sandbox, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter
        self.isolated = inner.isolated

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def run(self, job: Job) -> ExecResult:
        async with self.meter.admit(self.meter.budget.hold_sandbox_run):
            return await self.inner.run(job)

    async def run_in_tree(self, job: Job, tree: Path, **options: Any) -> ExecResult:
        async with self.meter.admit(self.meter.budget.hold_sandbox_run):
            return await self.inner.run_in_tree(job, tree, **options)

    def describe(self) -> str:
        return self.inner.describe()
