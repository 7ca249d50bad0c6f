"""The strategy registry: each strategy module registers its class by name; plug-ins come
from the `ponder.strategies` entry-point group (entries name a Strategy subclass)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ponder.errors import ConfigError
from ponder.plugins import Registry
from ponder.search.base import SearchState, Strategy, state_keys

ENTRY_POINT_GROUP = "ponder.strategies"


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


def _adapt(name: str, cls: Any) -> type[Strategy]:
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(
            f"strategy {name!r} is {cls!r}, not a Strategy subclass",
            fix="register (or name in the entry point) a subclass of ponder.search.Strategy",
        )
    check_state(name, cls)
    cls.name = name
    return cls


STRATEGIES: Registry[type[Strategy]] = Registry(
    "strategy",
    ENTRY_POINT_GROUP,
    modules=(
        "ponder.search.greedy",
        "ponder.search.best_of_n",
        "ponder.search.self_consistency",
        "ponder.search.tot",
        "ponder.search.beam",
        "ponder.search.dvts",
        "ponder.search.mcts",
        "ponder.search.refine",
        "ponder.search.magicore",
    ),
    adapt=_adapt,
)
_STRATEGIES = STRATEGIES.entries  # tests patch it
_load_builtins = STRATEGIES.load_builtins


def register_strategy(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: make a strategy available to `get_strategy(name)`."""
    return STRATEGIES.register(name)


def known_strategies() -> list[str]:
    return sorted(STRATEGIES.names())


def strategy_class(name: str) -> type[Strategy]:
    return STRATEGIES.get(name)


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
