"""Agents: Solver, Reviewer and Refiner, with prompt templates per task kind and robust parsing."""

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import Critique
from ponder.agents.refiner import Refiner
from ponder.agents.reviewer import Reviewer
from ponder.agents.solver import Solver

__all__ = ["AgentSettings", "Critique", "Draft", "Refiner", "Reviewer", "Solver"]
