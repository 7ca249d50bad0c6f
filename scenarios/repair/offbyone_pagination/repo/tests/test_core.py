import pytest

from pager import get_page, page_count


def test_page_count_rounds_up():
    assert page_count(10, 3) == 4


def test_page_count_exact():
    assert page_count(9, 3) == 3


def test_get_page_first():
    assert get_page(list(range(10)), 1, 3) == [0, 1, 2]


def test_get_page_last_partial():
    assert get_page(list(range(10)), 4, 3) == [9]


def test_get_page_rejects_zero():
    with pytest.raises(ValueError):
        get_page([1, 2], 0, 3)
