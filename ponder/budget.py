"""Compute accounting: what a run may spend, what it has spent, and which calls still fit."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields

from ponder.errors import BudgetExhausted

FIX = "raise the budget (--budget-tokens) to search longer"


@dataclass
class Spend:
    """Counters of compute spent; addable, JSON-friendly.

    `largest_call_tokens` is the largest per-sample `max_tokens` of a call the Budget admitted:
    a run's completion tokens stay below its limit plus this (one call's worth). Sums add;
    this one takes the maximum.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    samples: int = 0  # completions returned (a call with n=8 returns 8)
    cached_calls: int = 0
    sandbox_runs: int = 0
    llm_seconds: float = 0.0
    sandbox_seconds: float = 0.0
    largest_call_tokens: int = 0

    def __add__(self, other: Spend) -> Spend:
        merged = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        merged["largest_call_tokens"] = max(self.largest_call_tokens, other.largest_call_tokens)
        return Spend(**merged)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict:
        return asdict(self) | {"total_tokens": self.total_tokens}


@dataclass(frozen=True)
class Hold:
    """What an admitted call may still spend, held against the limits until it returns."""

    samples: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    llm_calls: int = 0
    sandbox_runs: int = 0


@dataclass
class Budget:
    """Limits (None = unlimited) plus the running spend.

    Strategies call `exhausted()` before each step, and size a batch of samples with
    `samples_left`; LLM clients and sandboxes call `record_llm` / `record_sandbox` after each
    call. Before a call, `hold_call` / `hold_sandbox_run` admit it: a call is refused
    (BudgetExhausted) once a limit is reached, and a batch is cut to the samples that fit, so
    the completion tokens never pass the limit by one sample's `max_tokens` (total tokens: by
    that plus the error of the prompt's estimate); LLM calls and sandbox runs never pass theirs.
    What admitted calls may still spend is held until they return (`release`), so concurrent
    calls cannot all squeeze into the same room.

    Tokens from cache hits are counted as spent (the strategy used them) but flagged in
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
    held: Hold = field(default_factory=Hold)

    def resume(self, spent: dict[str, float], wall_seconds: float) -> None:
        """Carry over what a checkpoint recorded: the spend and the wall seconds so far."""
        known = {f.name for f in fields(Spend)}
        self.spent = Spend(**{k: v for k, v in spent.items() if k in known})
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
            raise BudgetExhausted(reason, fix=FIX)

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
        """How many of `n` samples of up to `max_tokens` completion tokens one call should ask for.

        As many as the remaining token limits pay for at the run's mean sample length so far
        (`expected_sample_tokens`); `n` when they have room (or there are none). At least one:
        whether to call at all is `exhausted()`'s answer, checked before every step, and
        `hold_call` cuts the batch further to what fits at full length.
        """
        cost = self.expected_sample_tokens(max_tokens)
        left = [self.remaining_completion_tokens(), self.remaining_total_tokens()]
        affordable = min((t // cost for t in left if t is not None), default=n)
        return max(1, min(n, affordable))

    # ------------------------------------------------------------ admitting calls

    def _room(self, limit: int | None, used: float, held: float) -> float | None:
        return None if limit is None else limit - used - held

    def _refuse(self, what: str, limit: float, used: float, held: float) -> BudgetExhausted:
        note = f", {held:g} held by calls in flight" if held else ""
        return BudgetExhausted(f"{what} limit {limit:g} reached ({used:g} used{note})", fix=FIX)

    def _check_seconds(self) -> None:
        if self.max_seconds is not None and self.wall_seconds >= self.max_seconds:
            raise self._refuse("wall seconds", self.max_seconds, self.wall_seconds, 0)

    def hold_call(self, n: int, max_tokens: int, prompt_tokens: int = 0) -> Hold:
        """Admit one LLM call of `n` samples of up to `max_tokens` each, with a prompt of about
        `prompt_tokens`: the Hold says how many samples it may ask for (1 to n).

        Refused (BudgetExhausted) when a limit is reached counting what calls in flight hold.
        A batch is cut to the samples that can start inside the limit: with R tokens left,
        ceil(R / max_tokens), so the call ends below the limit plus one sample's `max_tokens`.
        Give the Hold back with `release` when the call returned (and was recorded).
        """
        self._check_seconds()
        s, h, m = self.spent, self.held, max(1, max_tokens)
        calls = self._room(self.max_llm_calls, s.llm_calls, h.llm_calls)
        if calls is not None and calls <= 0:
            raise self._refuse("LLM calls", self.max_llm_calls, s.llm_calls, h.llm_calls)
        samples = n
        completion = self._room(
            self.max_completion_tokens, s.completion_tokens, h.completion_tokens
        )
        if completion is not None:
            if completion <= 0:
                raise self._refuse(
                    "completion tokens",
                    self.max_completion_tokens,
                    s.completion_tokens,
                    h.completion_tokens,
                )
            samples = min(samples, -(-int(completion) // m))
        total = self._room(self.max_total_tokens, s.total_tokens, h.total_tokens)
        if total is not None:
            if total - prompt_tokens <= 0:
                raise self._refuse(
                    "total tokens",
                    self.max_total_tokens,
                    s.total_tokens + prompt_tokens,
                    h.total_tokens,
                )
            samples = min(samples, -(-int(total - prompt_tokens) // m))
        samples = max(1, samples)
        hold = Hold(
            samples=samples,
            completion_tokens=samples * m,
            total_tokens=prompt_tokens + samples * m,
            llm_calls=1,
        )
        self._add_held(hold, 1)
        self.spent.largest_call_tokens = max(self.spent.largest_call_tokens, m)
        return hold

    def hold_sandbox_run(self) -> Hold:
        """Admit one sandbox run: refused (BudgetExhausted) once the runs made and in flight
        reach `max_sandbox_runs`. Give the Hold back with `release` when the run was recorded."""
        self._check_seconds()
        runs = self._room(self.max_sandbox_runs, self.spent.sandbox_runs, self.held.sandbox_runs)
        if runs is not None and runs <= 0:
            raise self._refuse(
                "sandbox runs",
                self.max_sandbox_runs,
                self.spent.sandbox_runs,
                self.held.sandbox_runs,
            )
        hold = Hold(sandbox_runs=1)
        self._add_held(hold, 1)
        return hold

    def release(self, hold: Hold) -> None:
        """Give back what an admitted call held (its real spend is recorded by then)."""
        self._add_held(hold, -1)

    def _add_held(self, hold: Hold, sign: int) -> None:
        self.held = Hold(
            **{
                f.name: getattr(self.held, f.name) + sign * getattr(hold, f.name)
                for f in fields(Hold)
            }
        )

    def report(self) -> dict:
        return {
            "spent": self.spent.to_dict(),
            "wall_seconds": round(self.wall_seconds, 3),
            "limits": self.limits(),
        }

    def limits(self) -> dict[str, float | None]:
        return {
            "max_completion_tokens": self.max_completion_tokens,
            "max_total_tokens": self.max_total_tokens,
            "max_llm_calls": self.max_llm_calls,
            "max_sandbox_runs": self.max_sandbox_runs,
            "max_seconds": self.max_seconds,
        }
