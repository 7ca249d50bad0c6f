"""Compute accounting: what a run may spend and what it has spent."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from ponder.errors import BudgetExhausted


@dataclass
class Spend:
    """Counters of compute spent; addable, JSON-friendly."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    samples: int = 0  # completions returned (a call with n=8 returns 8)
    cached_calls: int = 0
    sandbox_runs: int = 0
    llm_seconds: float = 0.0
    sandbox_seconds: float = 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(**{k: getattr(self, k) + getattr(other, k) for k in asdict(self)})

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict:
        return asdict(self) | {"total_tokens": self.total_tokens}


@dataclass
class Budget:
    """Limits (None = unlimited) plus the running spend.

    Strategies call `exhausted()` before each step, and size a batch of samples with
    `samples_left`; LLM clients and sandboxes call `record_llm` / `record_sandbox` after each
    call. Tokens from cache hits are counted as spent (the strategy used them) but flagged in
    `cached_calls`, so a rerun reports the same compute as the original run. A resumed run
    carries over what the run spent before, wall seconds included (`resume`), so every limit
    counts the whole run.
    """

    max_completion_tokens: int | None = None
    max_total_tokens: int | None = None
    max_llm_calls: int | None = None
    max_sandbox_runs: int | None = None
    max_seconds: float | None = None
    spent: Spend = field(default_factory=Spend)
    started_at: float = field(default_factory=time.monotonic)
    seconds_before: float = 0.0  # wall seconds the run spent before it was resumed

    def resume(self, spent: dict[str, float], wall_seconds: float) -> None:
        """Carry over what a checkpoint recorded: the spend and the wall seconds so far."""
        self.spent = Spend(**spent)
        self.seconds_before = float(wall_seconds)

    def record_llm(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        seconds: float,
        cached: bool = False,
        samples: int = 1,
    ) -> None:
        self.spent.prompt_tokens += prompt_tokens
        self.spent.completion_tokens += completion_tokens
        self.spent.llm_calls += 1
        self.spent.samples += samples
        self.spent.cached_calls += int(cached)
        self.spent.llm_seconds += seconds

    def record_sandbox(self, seconds: float) -> None:
        self.spent.sandbox_runs += 1
        self.spent.sandbox_seconds += seconds

    @property
    def wall_seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self.started_at

    def exhausted_reason(self) -> str | None:
        """Name of the first limit reached, or None while compute remains."""
        s = self.spent
        checks = [
            ("completion tokens", self.max_completion_tokens, s.completion_tokens),
            ("total tokens", self.max_total_tokens, s.total_tokens),
            ("LLM calls", self.max_llm_calls, s.llm_calls),
            ("sandbox runs", self.max_sandbox_runs, s.sandbox_runs),
            ("wall seconds", self.max_seconds, self.wall_seconds),
        ]
        for name, limit, used in checks:
            if limit is not None and used >= limit:
                return f"{name} limit {limit} reached ({used:g} used)"
        return None

    def exhausted(self) -> bool:
        return self.exhausted_reason() is not None

    def check(self) -> None:
        """Raise BudgetExhausted when a limit is reached."""
        reason = self.exhausted_reason()
        if reason:
            raise BudgetExhausted(reason, fix="raise the budget (--budget-tokens) to search longer")

    def remaining_completion_tokens(self) -> int | None:
        if self.max_completion_tokens is None:
            return None
        return max(0, self.max_completion_tokens - self.spent.completion_tokens)

    def remaining_total_tokens(self) -> int | None:
        if self.max_total_tokens is None:
            return None
        return max(0, self.max_total_tokens - self.spent.total_tokens)

    def expected_sample_tokens(self, max_tokens: int) -> int:
        """Completion tokens one more sample is expected to cost: the run's mean so far
        (capped at `max_tokens`), or `max_tokens` before any sample was drawn."""
        if not self.spent.samples:
            return max(1, max_tokens)
        mean = -(-self.spent.completion_tokens // self.spent.samples)  # ceiling
        return max(1, min(max_tokens, mean))

    def samples_left(self, n: int, max_tokens: int) -> int:
        """How many of `n` samples of up to `max_tokens` completion tokens one call may ask for.

        As many as the remaining token limits pay for at the run's mean sample length so far
        (`expected_sample_tokens`), so one batch cannot overshoot them by n samples; `n` when
        they have room (or there are none). At least one: whether to call at all is
        `exhausted()`'s answer, checked before every step.
        """
        cost = self.expected_sample_tokens(max_tokens)
        left = [self.remaining_completion_tokens(), self.remaining_total_tokens()]
        affordable = min((t // cost for t in left if t is not None), default=n)
        return max(1, min(n, affordable))

    def report(self) -> dict:
        return {
            "spent": self.spent.to_dict(),
            "wall_seconds": round(self.wall_seconds, 3),
            "limits": {
                "max_completion_tokens": self.max_completion_tokens,
                "max_total_tokens": self.max_total_tokens,
                "max_llm_calls": self.max_llm_calls,
                "max_sandbox_runs": self.max_sandbox_runs,
                "max_seconds": self.max_seconds,
            },
        }
