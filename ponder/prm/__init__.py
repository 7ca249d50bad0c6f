"""Process reward models: step splitting, step scorers (http, hf, judge), and our trainable PRM."""

from ponder.prm.base import ScoreRequest, StepScorer, open_scorer, register_scorer, scorer_names
from ponder.prm.steps import aggregate, aggregator_names, code_steps, split_steps, splitter_names

__all__ = [
    "ScoreRequest",
    "StepScorer",
    "aggregate",
    "aggregator_names",
    "code_steps",
    "open_scorer",
    "register_scorer",
    "scorer_names",
    "split_steps",
    "splitter_names",
]
