"""`ponder check SOLUTION.py --tests TESTS.py`: one solution against a test file, judged as in search."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ponder.cli.app import app
from ponder.errors import PonderError

err = Console(stderr=True)


@app.command("check")
def check(
    solution: Annotated[Path, typer.Argument(help="Python file with the solution to check.")],
    tests: Annotated[
        Path,
        typer.Option(
            "--tests",
            help="Python test file: each top-level assert is one test, each top-level "
            "`def test_*():` another (defined, then called); other statements (imports, "
            "helpers) run before the next test. Snippets share one namespace, in order.",
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print {"all_passed", "passed", "total", "tests": [...]}.'),
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per test.")] = 5.0,
    entry_point: Annotated[
        str | None,
        typer.Option("--entry-point", help="The solution's function the tests must reach."),
    ] = None,
    sandbox: Annotated[
        str, typer.Option("--sandbox", help="docker (isolated) or local (NOT isolated).")
    ] = "docker",
) -> None:
    """Judge SOLUTION.py against TESTS.py in the sandbox, exactly as search and grading do.

    The tests run in a judge process; the solution in a separate process reached through
    proxies; values cross as plain data. Exit 0 iff every test passes, 1 if any fails,
    2 for bad input (a missing file, tests that are not valid Python, no tests).
    """
    from ponder.sandbox import open_sandbox
    from ponder.testrun import read_check_inputs, run_tests

    try:
        code, snippets = read_check_inputs(solution, tests)
        if timeout <= 0:
            raise PonderError(f"--timeout {timeout} is not positive", fix="pass --timeout 5")
    except PonderError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        if exc.fix:
            err.print(f"[yellow]fix:[/] {exc.fix}")
        raise typer.Exit(2) from None

    from ponder.sandbox.base import Limits

    limits = Limits(
        timeout_s=min(600.0, 10.0 + timeout * len(snippets)),
        cpu_s=int(min(600.0, 10.0 + timeout * len(snippets))),
    )

    async def judge():
        async with open_sandbox(sandbox, pool_size=1) as box:
            return await run_tests(box, code, snippets, limits, timeout, entry_point=entry_point)

    run = asyncio.run(judge())
    if as_json:
        typer.echo(json.dumps(run.summary(), indent=2))
    else:
        for outcome in run.outcomes:
            mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
            first = outcome.test.strip().splitlines()[-1][:100] if outcome.test.strip() else ""
            err.print(f"{mark} test {outcome.index + 1}: {first}", highlight=False)
        if run.load_error:
            err.print(f"the solution failed to run:\n{run.load_error}", highlight=False)
        elif not run.all_passed:
            err.print(run.feedback(), highlight=False)
        typer.echo(f"{run.passed}/{run.total} passed")
    raise typer.Exit(0 if run.all_passed else 1)
