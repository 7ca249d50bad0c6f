"""Retries with exponential backoff for calls to model servers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; the k-th wait is base * 2**k (capped, with +-25% jitter)."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 16.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        wait = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        return wait * (0.75 + 0.5 * (rng or random).random())


async def retry_async(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    is_transient: Callable[[BaseException], bool],
) -> T:
    """Await `call()`, retrying transient failures; the last failure propagates."""
    for attempt in range(policy.attempts):
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc) or attempt == policy.attempts - 1:
                raise
            await asyncio.sleep(policy.delay(attempt))
    raise AssertionError("unreachable: attempts must be at least 1")
