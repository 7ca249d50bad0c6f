"""The step-scorer interface every PRM backend implements, and the registry that opens them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ponder.errors import ConfigError


@dataclass(frozen=True)
class ScoreRequest:
    """One candidate to score: the problem statement and the candidate's steps, in order."""

    prompt: str
    steps: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.steps, list):
            object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ConfigError(
                "a PRM score request has no steps", fix="split the candidate into at least one step"
            )


@runtime_checkable
class StepScorer(Protocol):
    """Scores every step of many candidates at once; a score is P(step is good) in [0, 1]."""

    name: str

    async def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """One list of step scores per request, as long as that request's steps."""
        ...


ScorerFactory = Callable[..., StepScorer]

_FACTORIES: dict[str, ScorerFactory] = {}
# Built-in backends live in modules that import heavy libraries (torch, httpx): load on demand.
_BUILTIN_MODULES = {
    "http": "ponder.prm.http",
    "hf": "ponder.prm.hf",
    "judge": "ponder.prm.judge",
}


def register_scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Decorator: make a step-scorer factory available to `open_scorer(name, ...)`."""

    def deco(factory: ScorerFactory) -> ScorerFactory:
        _FACTORIES[name] = factory
        return factory

    return deco


def scorer_names() -> list[str]:
    return sorted(set(_FACTORIES) | set(_BUILTIN_MODULES))


def open_scorer(name: str, **options: Any) -> StepScorer:
    """Open the PRM backend `name` (`http`, `hf`, `judge`, or a registered plug-in)."""
    if name not in _FACTORIES and name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[name])
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown PRM backend {name!r}", fix=f"use one of {', '.join(scorer_names())}"
        ) from None
    return factory(**options)


def check_scores(name: str, requests: Sequence[ScoreRequest], scores: list[list[float]]) -> None:
    """Raise when a backend returned the wrong number of step scores (a format mismatch)."""
    from ponder.errors import ModelError

    for i, (req, row) in enumerate(zip(requests, scores, strict=True)):
        if len(row) != len(req.steps):
            raise ModelError(
                f"PRM backend {name!r} returned {len(row)} step scores for candidate {i}, "
                f"which has {len(req.steps)} steps",
                fix="check the step separator / step tag the PRM expects (see `ponder prm --help`)",
            )
