"""Hidden grading tests: an empty sample summarizes to None, never raises."""

from stats import mean, median, summarize
from stats.format import format_summary


def test_empty_summary_has_no_min_or_max():
    summary = summarize([])
    assert summary == {"count": 0, "mean": None, "median": None, "min": None, "max": None}


def test_empty_summary_renders_as_na():
    assert format_summary(summarize([])) == "count=0.00, mean=n/a, median=n/a, min=n/a, max=n/a"


def test_single_value_and_empty_tuple():
    assert summarize([4.0])["min"] == 4.0 == summarize([4.0])["max"]
    assert mean(()) is None and median(()) is None
