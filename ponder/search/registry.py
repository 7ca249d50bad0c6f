"""The strategy registry: each strategy module registers its class by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ponder.errors import ConfigError
from ponder.search.base import SearchState, Strategy, state_keys

_STRATEGIES: dict[str, type[Strategy]] = {}
_BUILTIN_MODULES = (
    "ponder.search.greedy",
    "ponder.search.best_of_n",
    "ponder.search.self_consistency",
    "ponder.search.tot",
    "ponder.search.beam",
    "ponder.search.dvts",
    "ponder.search.mcts",
    "ponder.search.refine",
    "ponder.search.magicore",
)


def register_strategy(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: make a strategy available to `get_strategy(name)`."""

    def deco(cls: type[Strategy]) -> type[Strategy]:
        check_state(name, cls)
        cls.name = name
        _STRATEGIES[name] = cls
        return cls

    return deco


def check_state(name: str, cls: type[Strategy]) -> None:
    """A strategy's State is a TypedDict that extends SearchState (the keys the graph needs)."""
    state = getattr(cls, "State", None)
    missing = (
        sorted(state_keys(SearchState) - state_keys(state))
        if isinstance(state, type) and hasattr(state, "__optional_keys__")
        else ["(not a TypedDict)"]
    )
    if missing:
        raise ConfigError(
            f"strategy {name!r} declares a State that lacks SearchState's keys: {', '.join(missing)}",
            fix="declare it as `class MyState(SearchState, total=False): ...` and set `State = MyState`",
        )


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def known_strategies() -> list[str]:
    _load_builtins()
    return sorted(_STRATEGIES)


def strategy_class(name: str) -> type[Strategy]:
    _load_builtins()
    try:
        return _STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown strategy {name!r}", fix=f"use one of: {', '.join(known_strategies())}"
        ) from None


def get_strategy(name: str, options: dict[str, Any] | None = None) -> Strategy:
    """The strategy `name` with its options validated (unknown or bad options are errors)."""
    cls = strategy_class(name)
    try:
        opts = cls.Options.model_validate(options or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"bad option {where!r} for strategy {name!r}: {first['msg']}",
            fix=f"options of {name}: {', '.join(cls.Options.model_fields) or '(none)'}",
        ) from None
    return cls(opts)
