"""The root typer app; command modules register on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ponder",
    help="Agentic search and refinement on code and math: solve, repair, bench.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
