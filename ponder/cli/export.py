"""`ponder export`: learning data (SFT, step-level DPO, PRM labels) from runs' thought trees."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ponder.cli.app import app


@app.command("export")
def export_cmd(
    source: Annotated[
        Path, typer.Argument(help="A run directory or bench directory (tree.json files).")
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="sft | dpo | prm")] = "sft",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL file (default: SOURCE/FORMAT.jsonl).")
    ] = None,
    sft_style: Annotated[str, typer.Option(help="messages | prompt-completion")] = "messages",
    margin: Annotated[float, typer.Option(help="DPO: minimum value gap between siblings.")] = 0.25,
) -> None:
    """Write JSONL that TRL's SFT, DPO and PRM trainers read."""
    from ponder.export import ExportOptions, export_rows, write_jsonl

    rows = export_rows(source, fmt, ExportOptions(sft_style=sft_style, margin=margin))
    target = out or (source if source.is_dir() else source.parent) / f"{fmt}.jsonl"
    write_jsonl(rows, target)
    Console().print(f"wrote {len(rows)} {fmt} rows to {target}")
