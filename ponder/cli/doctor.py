"""`ponder doctor`: report what is ready, what the next step builds, and how to fix the rest."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ponder.cli.app import app
from ponder.doctor import State, run_checks

_STYLE = {
    State.OK: "[green]ok[/]",
    State.PENDING: "[yellow]not built yet[/]",
    State.BROKEN: "[red]broken[/]",
    State.OPTIONAL: "[dim]optional[/]",
}


@app.command()
def doctor() -> None:
    """Check the Docker engine, sandbox image, model cache, llama.cpp build and GPU.

    Exit 0 when everything is ready or is built by the next step on its own (the embedded
    model is assembled on first use); exit 1 when something needs you, with the fix.
    """
    checks = run_checks()
    table = Table(title="ponder doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    table.add_column("fix")
    for c in checks:
        table.add_row(c.name, _STYLE[c.state], escape(c.detail or ""), escape(c.fix or ""))
    console = Console()
    console.print(table)
    broken = [c.name for c in checks if c.state is State.BROKEN]
    pending = [c.name for c in checks if c.state is State.PENDING]
    if pending:
        console.print(f"notice: built on first use (or now, by its fix): {', '.join(pending)}")
    if broken:
        console.print(f"[red]needs a fix:[/] {', '.join(broken)}")
        raise typer.Exit(1)
