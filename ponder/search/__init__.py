"""Search strategies over the thought tree, one interface, all bounded by the Budget."""

from ponder.search.base import PHASES, SearchContext, SearchState, Step, Strategy, StrategyOptions
from ponder.search.registry import get_strategy, known_strategies, register_strategy

__all__ = [
    "PHASES",
    "SearchContext",
    "SearchState",
    "Step",
    "Strategy",
    "StrategyOptions",
    "get_strategy",
    "known_strategies",
    "register_strategy",
]
