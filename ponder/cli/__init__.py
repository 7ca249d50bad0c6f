"""Command-line interface: parsing and printing only; the work lives in the library."""

from __future__ import annotations

import sys

from rich.console import Console

from ponder.cli.app import app
from ponder.errors import PonderError

# Each module registers its commands on `app` when imported.
from ponder.cli import bench, demo, doctor, export, llm, prm, repair, sandbox, solve, tree  # noqa: E402,F401  isort: skip
from ponder.cli import check  # noqa: E402,F401  isort: skip


def main() -> None:
    """Entry point of the `ponder` console script: PonderErrors print as message + fix."""
    try:
        app()
    except PonderError as exc:
        err = Console(stderr=True)
        err.print(f"[bold red]error:[/] {exc.message}")
        if exc.fix:
            err.print(f"[yellow]fix:[/] {exc.fix}")
        sys.exit(2)
