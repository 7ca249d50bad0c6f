"""Splitting a list of items into numbered pages (1-based)."""


def page_count(total: int, per_page: int) -> int:
    """Number of pages needed to show `total` items, `per_page` at a time."""
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return (total + per_page - 1) // per_page


def get_page(items: list, page: int, per_page: int) -> list:
    """The items on page `page` (pages start at 1)."""
    if page < 1:
        raise ValueError("page numbers start at 1")
    start = (page - 1) * per_page
    end = start + per_page - 1
    return items[start:end]
