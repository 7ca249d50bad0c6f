"""`ponder bench run|report|compare`: inference-time scaling studies on benchmark scenarios."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from ponder.cli.app import app


class _RunByDefault(TyperGroup):
    """`ponder bench SCENARIO ...` means `ponder bench run SCENARIO ...`."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


bench_app = typer.Typer(
    cls=_RunByDefault,
    help="Inference-time scaling studies: accuracy against compute, strategy by strategy. "
    "`ponder bench SCENARIO ...` is short for `ponder bench run SCENARIO ...`.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")
_err = Console(stderr=True)

BUDGET_HELP = (
    "Comma-separated budgets. Budget B gives a strategy B x the completion tokens greedy spent "
    "on the same task; pool strategies (best_of_n, self_consistency, pass_at_k) draw B samples."
)


def _csv(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _ints(text: str | None) -> list[int] | None:
    from ponder.errors import ConfigError

    parts = _csv(text)
    if parts is None:
        return None
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"--budgets {text!r} is not a list of integers", fix="write e.g. --budgets 1,2,4,8,16"
        ) from None


class _Progress:
    """A rich progress bar with an ETA, advanced as each cell finishes."""

    def __init__(self) -> None:
        self.bar = Progress(
            TextColumn("[bold]bench[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=_err,
        )  # fmt: skip
        self.task = self.bar.add_task("cells", total=None, last="")
        self.solved = 0

    def start(self, total: int, done: int) -> None:
        # Skipped cells are not counted in the ETA's rate: reset after marking them complete.
        self.bar.reset(self.task, total=total - done, last=f"({done} done before)")

    def cell(self, row) -> None:
        mark = "[red]error[/]" if row.error else ("[green]ok[/]" if row.correct else "[dim]x[/]")
        self.bar.update(
            self.task, advance=1, last=f"{row.task_id} {row.strategy}@{row.budget} {mark}"
        )


@bench_app.command("run")
def run(
    scenario: Annotated[
        str, typer.Argument(help="humaneval, humaneval+, mbpp, mbpp+, gsm8k, math500 or a plug-in")
    ],
    strategies: Annotated[
        str | None, typer.Option("--strategies", help="comma-separated, e.g. greedy,best_of_n,mcts")
    ] = None,
    budgets: Annotated[str | None, typer.Option("--budgets", help=BUDGET_HELP)] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="first N tasks (after --seed shuffling)")
    ] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="comma-separated task ids")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="shuffle the tasks with this seed before --limit")
    ] = None,
    run_seed: Annotated[
        int | None, typer.Option("--run-seed", help="the runs' sampling seed")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="bench directory (resumed if it exists)")
    ] = Path("bench-out"),
    model: Annotated[
        str | None, typer.Option("--model", help="model spec, e.g. local, openai:MODEL@URL")
    ] = None,
    sandbox: Annotated[str | None, typer.Option("--sandbox", help="docker or local")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            help="samples in flight, oldest task first (default 1, or 16 for batching backends)",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="a Hugging Face dataset name instead of the local data"),
    ] = None,
    pool: Annotated[
        bool | None,
        typer.Option("--pool/--no-pool", help="derive sampling strategies' budgets from one pool"),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="Ray cluster address: one remote task per benchmark task"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="bench recipe YAML (see scenarios/)")
    ] = None,
) -> None:
    """Run every (task, strategy, budget) cell; results.jsonl, summary.csv, results.md and plots in --out.

    A bench directory that already holds results is resumed: finished cells are skipped.
    """
    from ponder.benchmark.config import load_bench_config
    from ponder.benchmark.report import build_report

    cfg = load_bench_config(
        config, scenario=scenario, strategies=_csv(strategies), budgets=_ints(budgets),
        limit=limit, ids=_csv(ids), shuffle_seed=seed, seed=run_seed, model=model,
        sandbox=sandbox, concurrency=concurrency, source=source, pool=pool, ray=ray,
    )  # fmt: skip
    progress = _Progress()
    started = time.monotonic()
    with progress.bar:
        if cfg.ray:
            from ponder.benchmark.ray_runner import run_ray

            result = run_ray(cfg, out, on_start=progress.start, on_cell=progress.cell)
        else:
            from ponder.benchmark.session import run_local

            result = asyncio.run(
                run_local(cfg, out, on_start=progress.start, on_cell=progress.cell)
            )
    elapsed = time.monotonic() - started
    report = build_report(out)
    typer.echo(report.table)
    typer.echo(
        f"{elapsed / 60:.1f} min; {result.tasks} tasks, {result.cells} cells ({result.skipped} resumed, "
        f"{len(result.written)} run now); files: " + ", ".join(str(f) for f in report.files)
    )


@bench_app.command("report")
def report(directory: Annotated[Path, typer.Argument(help="a bench --out directory")]) -> None:
    """Rebuild summary.csv, results.md and the plots from DIR/results.jsonl."""
    from ponder.benchmark.report import build_report

    built = build_report(directory)
    typer.echo(built.table)
    typer.echo("wrote " + ", ".join(str(f) for f in built.files))


@bench_app.command("compare")
def compare(
    first: Annotated[Path, typer.Argument(help="bench directory A")],
    second: Annotated[Path, typer.Argument(help="bench directory B")],
) -> None:
    """Accuracy and tokens per strategy and budget: B against A."""
    from ponder.benchmark.report import compare as diff
    from ponder.benchmark.report import compare_table

    typer.echo(compare_table(diff(first, second), first.name or "A", second.name or "B"))
