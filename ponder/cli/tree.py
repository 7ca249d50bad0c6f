"""`ponder tree` commands: show a run's thought tree as a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ponder.cli.app import app

tree_app = typer.Typer(help="Inspect thought trees of runs.", no_args_is_help=True)
app.add_typer(tree_app, name="tree")


@tree_app.command("show")
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (holds tree.json).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default RUN_DIR/report.html).")
    ] = None,
) -> None:
    """Write the HTML view of RUN_DIR's tree (no network needed to open it) and print its path."""
    from ponder.report.tree_view import write_run_report

    path = write_run_report(run_dir, out)
    typer.echo(str(path.resolve()))
