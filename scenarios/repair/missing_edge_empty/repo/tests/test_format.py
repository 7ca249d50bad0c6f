from stats.format import format_summary


def test_format_values():
    text = format_summary({"count": 2, "mean": 1.5, "median": 1.5, "min": 1, "max": 2})
    assert text == "count=2.00, mean=1.50, median=1.50, min=1.00, max=2.00"


def test_format_none_as_na():
    text = format_summary({"count": 0, "mean": None, "median": None, "min": None, "max": None})
    assert "mean=n/a" in text
