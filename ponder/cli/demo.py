"""`ponder demo`: the quick start's end-to-end run on real tasks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax

from ponder.cli.app import app

_out = Console()


def _print(outcome) -> None:  # outcome: ponder.demo.DemoOutcome
    r = outcome.result
    grade = r.grade or {}
    verdict = "[green]correct[/]" if grade.get("correct") else "[red]wrong[/]"
    spent = r.budget.get("spent", {})
    _out.rule(f"{outcome.ref}: {verdict} on the hidden tests")
    _out.print(
        f"strategy {r.strategy}, {r.nodes} tree nodes, {r.iterations} iterations, "
        f"{spent.get('completion_tokens', 0)} tokens generated, {spent.get('llm_calls', 0)} LLM "
        f"calls, {spent.get('sandbox_runs', 0)} sandbox runs; passed public tests: "
        f"{r.passed_public}; stop: {r.stop_reason}"
    )
    if r.solution:
        _out.print(Syntax(r.solution, "python", line_numbers=False))
    _out.print(f"run dir: {r.run_dir}  (open {r.run_dir}/report.html)")


@app.command()
def demo(
    model: Annotated[str, typer.Option(help="Model string.")] = "local",
    strategy: Annotated[str, typer.Option(help="Search strategy.")] = "mcts",
    budget_tokens: Annotated[int, typer.Option(help="Completion-token budget per task.")] = 3000,
    out: Annotated[
        Path | None,
        typer.Option(help="Where the run directories go (default: a new runs/demo/TIMESTAMP)."),
    ] = None,
) -> None:
    """Solve three HumanEval tasks with the embedded model in the Docker sandbox, printing each."""
    from ponder.demo import fresh_out_dir, run_demo

    out = out if out is not None else fresh_out_dir(Path("runs/demo"))
    outcomes = asyncio.run(
        run_demo(
            model=model,
            strategy=strategy,
            budget_tokens=budget_tokens,
            out_root=out,
            on_result=_print,
        )
    )
    solved = sum(bool((o.result.grade or {}).get("correct")) for o in outcomes)
    _out.print(f"[bold]{solved}/{len(outcomes)} tasks solved[/] (graded on hidden tests)")
