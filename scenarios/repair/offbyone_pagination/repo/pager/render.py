"""Plain-text rendering of one page of items."""

from pager.core import get_page, page_count


def render_page(items: list, page: int, per_page: int) -> str:
    rows = [f"- {item}" for item in get_page(items, page, per_page)]
    footer = f"page {page} of {page_count(len(items), per_page)}"
    return "\n".join(rows + [footer])
