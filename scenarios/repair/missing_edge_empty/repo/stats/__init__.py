"""Descriptive statistics for small samples."""

from stats.summary import mean, median, summarize

__all__ = ["mean", "median", "summarize"]
