"""Ponder: a runtime for agentic search and refinement on code and math."""

__version__ = "0.1.0"
