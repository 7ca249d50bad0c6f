"""Split a candidate into reasoning steps and aggregate per-step scores into one score."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from ponder.errors import ConfigError

Splitter = Callable[[str], list[str]]
Aggregator = Callable[[Sequence[float]], float]

_STEP_HEADER = re.compile(r"(?im)^[ \t]*(?:#+[ \t]*)?\**step[ \t]*\d+\**[ \t]*[:.)-]?")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _blocks(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n[ \t]*\n", text) if block.strip()]


def _step_k(text: str) -> list[str]:
    starts = [m.start() for m in _STEP_HEADER.finditer(text)]
    if not starts:
        return _blocks(text)
    pieces = [text[: starts[0]]] if text[: starts[0]].strip() else []
    bounds = [*starts, len(text)]
    pieces += [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return [p.strip() for p in pieces if p.strip()]


def _auto(text: str) -> list[str]:
    if _STEP_HEADER.search(text):
        return _step_k(text)
    blocks = _blocks(text)
    return blocks if len(blocks) > 1 else _lines(text)


_SPLITTERS: dict[str, Splitter] = {
    "auto": _auto,
    "lines": _lines,
    "blocks": _blocks,
    "step_k": _step_k,
}


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


_AGGREGATORS: dict[str, Aggregator] = {
    "min": min,
    "last": lambda xs: xs[-1],
    "prod": math.prod,
    "mean": _mean,
}


def splitter_names() -> list[str]:
    return sorted(_SPLITTERS)


def aggregator_names() -> list[str]:
    return sorted(_AGGREGATORS)


def split_steps(text: str, mode: str = "auto") -> list[str]:
    """Split `text` into steps: `lines`, `blocks` (blank-line separated), `step_k` ("Step k")
    or `auto` ("Step k" headers if present, else blank-line blocks, else lines).
    Empty text gives one empty step, so every candidate has at least one step to score."""
    try:
        splitter = _SPLITTERS[mode]
    except KeyError:
        raise ConfigError(
            f"unknown step split mode {mode!r}", fix=f"use one of {', '.join(splitter_names())}"
        ) from None
    return splitter(text) or [text.strip()]


def code_steps(thoughts: Sequence[str], candidate: str) -> list[str]:
    """Steps of a code candidate: the thoughts on its path, then the code itself as the last step."""
    return [t.strip() for t in thoughts if t.strip()] + [candidate]


def aggregate(scores: Sequence[float], how: str = "min") -> float:
    """One score from per-step scores: `min`, `last`, `prod` or `mean` (search-and-learn's names)."""
    try:
        fn = _AGGREGATORS[how]
    except KeyError:
        raise ConfigError(
            f"unknown step-score aggregation {how!r}",
            fix=f"use one of {', '.join(aggregator_names())}",
        ) from None
    if not scores:
        raise ConfigError("no step scores to aggregate", fix="score at least one step")
    return float(fn(list(scores)))
