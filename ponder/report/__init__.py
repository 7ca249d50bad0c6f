"""Reports of runs: the self-contained HTML view of a thought tree."""

from ponder.report.tree_view import render_tree_html, write_tree_html

__all__ = ["render_tree_html", "write_tree_html"]
