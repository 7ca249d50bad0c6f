"""Tiny pagination helpers."""

from pager.core import get_page, page_count
from pager.render import render_page

__all__ = ["get_page", "page_count", "render_page"]
