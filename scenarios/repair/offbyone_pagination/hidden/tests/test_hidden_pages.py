"""Hidden grading tests: every item appears on exactly one page, in order."""

from pager import get_page, page_count, render_page


def test_pages_cover_every_item_once():
    items = list(range(23))
    pages = [get_page(items, n, 5) for n in range(1, page_count(len(items), 5) + 1)]
    assert [x for page in pages for x in page] == items
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]


def test_page_of_one_item():
    assert get_page(["a", "b", "c"], 2, 1) == ["b"]


def test_render_full_page_lists_every_row():
    text = render_page(["x", "y", "z", "w"], 1, 2)
    assert text.splitlines() == ["- x", "- y", "page 1 of 2"]
