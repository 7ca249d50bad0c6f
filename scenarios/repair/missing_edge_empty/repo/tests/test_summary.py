from stats import mean, median, summarize


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_odd():
    assert median([3, 1, 2]) == 2


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5


def test_mean_empty_is_none():
    assert mean([]) is None


def test_median_empty_is_none():
    assert median([]) is None


def test_summarize_empty():
    assert summarize([]) == {"count": 0, "mean": None, "median": None, "min": None, "max": None}
