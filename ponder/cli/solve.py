"""`ponder solve` (search for a verified solution of one task) and `ponder graph` (the state machine)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.prompt import Confirm
from rich.syntax import Syntax
from rich.table import Table

from ponder.cli.app import app
from ponder.errors import ConfigError

_err = Console(stderr=True)


class _Display:
    """A live table of the run's progress, fed by the streamed events."""

    def __init__(self) -> None:
        self.live = Live(self._table({}), console=_err, refresh_per_second=8, transient=False)
        self.last: dict[str, Any] = {}

    def _table(self, e: dict[str, Any]) -> Table:
        spent = e.get("spent") or {}
        table = Table(show_header=True, header_style="bold", box=None)
        for col in (
            "phase",
            "iteration",
            "nodes",
            "best score",
            "tokens",
            "LLM calls",
            "sandbox runs",
        ):
            table.add_column(col)
        table.add_row(
            str(e.get("phase", e.get("event", ""))),
            str(e.get("iteration", 0)),
            str(e.get("nodes", 0)),
            f"{e.get('best_score') or 0.0:.2f}",
            str(spent.get("completion_tokens", 0)),
            str(spent.get("llm_calls", 0)),
            str(spent.get("sandbox_runs", 0)),
        )
        return table

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") == "phase":
            self.last = event
            self.live.update(self._table(event))

    def approve(self, payload: dict[str, Any]) -> bool:
        self.live.stop()
        _err.print(
            f"[bold]candidate {payload.get('candidate')}[/] score {payload.get('score', 0):.2f}"
        )
        _err.print(Syntax(str(payload.get("text") or ""), "python", word_wrap=True))
        if payload.get("feedback"):
            _err.print(f"[dim]{payload['feedback']}[/]")
        ok = Confirm.ask("accept this candidate?", console=_err, default=True)
        self.live.start()
        return ok


async def _solve(
    task_ref: str | None,
    prompt: str | None,
    tests: Path | None,
    kind: str,
    config_path: Path | None,
    overrides: dict[str, Any],
    out: Path | None,
    resume: Path | None,
) -> dict[str, Any]:
    from ponder.config import load_config
    from ponder.kinds import get_kind
    from ponder.llm import open_model
    from ponder.runner import load_run, load_task_ref, resume_run, solve_task
    from ponder.sandbox import open_sandbox
    from ponder.task import task_from_prompt

    if resume is not None:
        task, saved = load_run(resume)
        config = saved.model_copy(
            update={
                k: v
                for k, v in overrides.items()
                if k in ("model", "sandbox", "cache") and v is not None
            }
        )
    else:
        config = load_config(config_path, overrides)
        if prompt is not None:
            task = task_from_prompt(prompt, tests, kind=kind)  # type: ignore[arg-type]
        elif task_ref is not None:
            task = load_task_ref(task_ref)
        else:
            raise ConfigError(
                "no task given",
                fix="pass TASK (a task file, FILE#ID or a scenario ref) or --prompt",
            )
    model = open_model(config.model, cache=config.cache)
    # Code runs its tests in the sandbox, repairs their repository's tests; math its programs
    # unless it is prose.
    wants = get_kind(task.kind).needs_sandbox(config.agents)
    sandbox = open_sandbox(config.sandbox) if wants else None
    display = _Display()
    try:
        if sandbox is not None:
            sandbox = await _start(sandbox, task.kind, config.agents.math_mode)
        config = config.model_copy(
            update={"agents": config.agents.resolved(has_sandbox=sandbox is not None)}
        )
        with display.live:
            approve = display.approve if config.interactive else None
            if resume is not None:
                result = await resume_run(
                    resume, model=model, sandbox=sandbox, on_event=display, approve=approve
                )
            else:
                result = await solve_task(
                    task,
                    config,
                    model=model,
                    sandbox=sandbox,
                    out_dir=out,
                    on_event=display,
                    approve=approve,
                )
    finally:
        if sandbox is not None:
            await sandbox.close()
        await model.aclose()
    return result.to_dict()


async def _start(sandbox: Any, kind: str, math_mode: str) -> Any:
    """The started sandbox; for math in `auto` mode, None (prose) when it cannot start."""
    from ponder.errors import PonderError

    try:
        await sandbox.start()
    except PonderError as exc:
        if kind != "math" or math_mode != "auto":
            raise
        _err.print(f"[yellow]no sandbox ({exc}); solving in prose (--math-mode prose)[/]")
        return None
    return sandbox


@app.command()
def solve(
    task: Annotated[
        str | None,
        typer.Argument(help="Task file (FILE or FILE#ID) or scenario ref (humaneval/HumanEval/0)."),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Solve this problem text instead of a task file.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Python file of public asserts (with --prompt).")
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="Task kind for --prompt: code or math.")
    ] = "code",
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help="greedy, best_of_n, self_consistency, tot, beam, dvts, mcts, refine, magicore.",
        ),
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option("--budget-tokens", help="Completion-token budget.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model string (default local).")
    ] = None,
    sandbox: Annotated[
        str | None, typer.Option("--sandbox", help="docker (default) or local.")
    ] = None,
    verifier: Annotated[
        list[str] | None,
        typer.Option("--verifier", help="Verifier NAME or NAME:WEIGHT (repeatable)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Run seed (sampled calls derive theirs from it).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/STAMP-TASK).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML run config; options given here override it."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Go on with the run in this RUN_DIR.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the response cache.")
    ] = False,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", help="Review the chosen candidate before it is accepted."),
    ] = False,
    math_mode: Annotated[
        str | None,
        typer.Option(
            "--math-mode",
            help="Math answers: pal (a program run in the sandbox), prose, mixed (sampled "
            "answers alternate programs and prose), or auto (pal when a sandbox starts; the "
            "default).",
        ),
    ] = None,
) -> None:
    """Search for a verified solution of one task; writes RUN_DIR and prints the solution."""
    overrides: dict[str, Any] = {
        "strategy": strategy,
        "model": model,
        "sandbox": sandbox,
        "verifiers": verifier or None,
        "seed": seed,
        "cache": False if no_cache else None,
        "interactive": True if interactive else None,
        "budget": {"tokens": budget_tokens} if budget_tokens is not None else None,
        "agents": {"math_mode": math_mode} if math_mode is not None else None,
    }
    result = asyncio.run(_solve(task, prompt, tests, kind, config, overrides, out, resume))
    grade = result.get("grade") or {}
    _err.print(
        f"[bold]{result['task_id']}[/] strategy={result['strategy']} stop: {result['stop_reason']}; "
        f"public tests passed: {result['passed_public']}; "
        + (
            f"hidden grade: {'correct' if grade.get('correct') else 'wrong'}; "
            if grade.get("graded")
            else ""
        )
        + f"spent: {json.dumps(result['budget']['spent'])}"
    )
    _err.print(f"run directory: {result['run_dir']}")
    if result["solution"] is None:
        _err.print("[red]no solution found[/]")
        raise typer.Exit(1)
    typer.echo(result["solution"])
    printed = _printed(result)
    if printed is not None:
        _err.print(f"the program printed: [bold]{printed}[/]")


def _printed(result: dict[str, Any]) -> str | None:
    """The value a program-aided math solution printed, from its verdicts or its grade."""
    for verdict in (result.get("verdicts") or {}).values():
        details = verdict.get("details") or {}
        if details.get("program") and details.get("answer") is not None:
            return str(details["answer"])
    grade = (result.get("grade") or {}).get("details") or {}
    return str(grade["predicted"]) if grade.get("program") and grade.get("predicted") else None


@app.command()
def graph() -> None:
    """Print the run state machine (LangGraph) as a Mermaid diagram."""
    from ponder.graph import mermaid

    typer.echo(mermaid())
