"""`ponder doctor`: report what is ready and how to fix what is not."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ponder.cli.app import app
from ponder.doctor import run_checks


@app.command()
def doctor() -> None:
    """Check the Docker engine, sandbox image, model cache, llama.cpp build and GPU."""
    checks = run_checks()
    table = Table(title="ponder doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    table.add_column("fix")
    for c in checks:
        status = "[green]ok[/]" if c.ok else "[red]missing[/]"
        table.add_row(c.name, status, escape(c.detail or ""), escape(c.fix or ""))
    Console().print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
