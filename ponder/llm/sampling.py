"""Helpers shared by backends: per-sample seeds and stop-sequence trimming."""

from __future__ import annotations

from ponder.llm.base import SamplingParams

_SEED_MOD = 2**31 - 1


def sample_seeds(params: SamplingParams) -> list[int | None]:
    """One seed per sample: distinct and derived from `params.seed`; None when unseeded."""
    if params.seed is None:
        return [None] * params.n
    return [(params.seed + 7919 * i) % _SEED_MOD for i in range(params.n)]


def trim_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` at the earliest stop sequence; returns (text, whether one was found)."""
    cuts = [text.index(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)
