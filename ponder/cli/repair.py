"""`ponder repair` (search for a patch that makes a repository's tests pass), `ponder repair
check` (grade one patch as search and grading do), and `ponder bench-repair` (every repair
scenario under each strategy, as a table)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from ponder.budget import Budget
from ponder.cli.app import app
from ponder.errors import ConfigError

_out = Console()
_err = Console(stderr=True)
SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "repair"


class _RepairGroup(TyperGroup):
    """`ponder repair TARGET ...` runs the search (`run`); `ponder repair check ...` grades."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


repair_app = typer.Typer(
    cls=_RepairGroup,
    no_args_is_help=True,
    help="Search for a patch (ponder repair TARGET), or grade one (ponder repair check).",
)
app.add_typer(repair_app, name="repair")


def _options(pairs: list[str]) -> dict[str, Any]:
    """`--option width=4` pairs -> {"width": 4} (values parsed as JSON when they can be)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"bad --option {pair!r}", fix="write --option NAME=VALUE, e.g. width=4"
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _load_task(
    target: Path,
    test_cmd: str | None,
    problem: str | None,
    problem_file: Path | None,
    fail_to_pass: list[str],
    pass_to_pass: list[str],
    instance: str | None,
    repo_dir: Path | None,
    tests_visible: bool,
):
    from ponder.repair.task import is_scenario_dir, load_scenario, load_swe_bench, task_from_repo

    if target.is_file():
        tasks = load_swe_bench(target, instance, test_cmd=test_cmd, tests_visible=tests_visible)
        if len(tasks) != 1:
            raise ConfigError(
                f"{target} holds {len(tasks)} instances; which one?",
                fix="name one with --instance INSTANCE_ID",
            )
        task = tasks[0]
        if repo_dir is None:
            raise ConfigError(
                f"SWE-bench instance {task.id} has no local checkout",
                fix=f"git clone {task.spec.repo_url}, check out {task.spec.base_commit}, "
                "and pass it with --repo-dir",
            )
        return task.with_repo_dir(repo_dir)
    if is_scenario_dir(target):
        return load_scenario(target)
    if problem_file is not None:
        if not problem_file.is_file():
            raise ConfigError(
                f"problem file {problem_file} does not exist", fix="pass an existing file"
            )
        problem = problem_file.read_text(encoding="utf-8")
    if problem is None or test_cmd is None:
        raise ConfigError(
            f"{target} is a repository: it needs --test-cmd and --problem (or --problem-file)",
            fix='e.g. ponder repair REPO --test-cmd "python3 -m pytest -q" --problem-file issue.md',
        )
    return task_from_repo(target, problem, test_cmd, fail_to_pass, pass_to_pass)


def _runner(name: str):
    from ponder.repair.testing import make_runner

    runner = make_runner(name)
    if not runner.isolated:
        _err.print(
            f"[yellow]warning:[/] test runner {name!r} is NOT isolated: tests run on this machine"
        )
    return runner


@repair_app.command("run")
def repair_command(
    target: Annotated[
        Path, typer.Argument(help="REPO_DIR, a scenario folder, or a SWE-bench .jsonl")
    ],
    test_cmd: Annotated[str | None, typer.Option("--test-cmd", help="the test command")] = None,
    problem: Annotated[str | None, typer.Option("--problem", help="the problem statement")] = None,
    problem_file: Annotated[Path | None, typer.Option("--problem-file")] = None,
    fail_to_pass: Annotated[
        list[str] | None, typer.Option("--fail-to-pass", help="test id (repeat)")
    ] = None,
    pass_to_pass: Annotated[
        list[str] | None, typer.Option("--pass-to-pass", help="test id (repeat)")
    ] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="SWE-bench instance_id")
    ] = None,
    repo_dir: Annotated[
        Path | None, typer.Option("--repo-dir", help="checkout for a SWE-bench instance")
    ] = None,
    tests_visible: Annotated[
        bool, typer.Option("--tests-visible", help="SWE-bench: apply test_patch before the search")
    ] = False,
    strategy: Annotated[str, typer.Option("--strategy")] = "mcts",
    option: Annotated[
        list[str] | None, typer.Option("--option", help="strategy option NAME=VALUE")
    ] = None,
    model: Annotated[str, typer.Option("--model")] = "local",
    budget_tokens: Annotated[int, typer.Option("--budget-tokens")] = 40_000,
    runner: Annotated[
        str, typer.Option("--runner", help="docker (fresh container) or subprocess")
    ] = "docker",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="run directory")] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="apply the patch to the repository")
    ] = False,
) -> None:
    """Search over patches until the repository's tests pass; write RUN_DIR (patch.diff, result.json, tree.json)."""
    from ponder.llm import open_model
    from ponder.repair.runner import repair
    from ponder.verifiers.chooser import ChooserVerifier

    task = _load_task(
        target,
        test_cmd,
        problem,
        problem_file,
        fail_to_pass or [],
        pass_to_pass or [],
        instance,
        repo_dir,
        tests_visible,
    )
    out = out or Path("runs") / f"repair-{task.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    budget = Budget(max_total_tokens=budget_tokens)
    client = open_model(model)
    result = asyncio.run(
        repair(
            task,
            client,
            _runner(runner),
            strategy=strategy,
            options=_options(option or []),
            budget=budget,
            chooser=ChooserVerifier(client, budget),
            seed=seed,
            out_dir=out,
            apply=apply,
        )
    )
    _out.print(result.patch or "(no patch)", markup=False, highlight=False)
    spent = budget.spent
    _err.print(
        f"[bold]{'resolved' if result.resolved else 'NOT resolved'}[/] {task.id} with {strategy}: "
        f"{spent.total_tokens} tokens, {spent.llm_calls} LLM calls, {spent.sandbox_runs} test runs; "
        f"run dir {result.run_dir}" + (" (patch applied)" if result.applied else "")
    )
    if not result.resolved:
        raise typer.Exit(1)


def _hidden_tests(repo: Path, files: list[Path]) -> tuple[str, list[str]]:
    """`--hidden-tests` files as one test patch and the ids of the tests they add.

    A diff (as SWE-bench's test_patch) is applied as it is; a `.py` file goes to tests/ (or the
    repository root when there is no tests/) under its own name.
    """
    from ponder.repair.hidden import hidden_tests, test_ids
    from ponder.repair.patches import apply_patch
    from ponder.repair.sources import EditRejected
    from ponder.repair.workspace import RepoSnapshot

    snapshot = RepoSnapshot(repo)
    patches, added, ids = [], {}, []
    for path in files:
        if not path.is_file():
            raise ConfigError(
                f"hidden tests file {path} does not exist",
                fix="pass a test file (.py) or a test patch (unified diff) with --hidden-tests",
            )
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            folder = "tests/" if (repo / "tests").is_dir() else ""
            added[f"{folder}{path.name}"] = text
            continue
        try:
            new_files = apply_patch(snapshot, text)
        except EditRejected as exc:
            raise ConfigError(
                f"hidden tests file {path} is not a diff that applies to {repo}: {exc.reason}",
                fix="pass a unified diff made against the repository (or a .py test file)",
            ) from None
        patches.append(text)
        ids += [
            t
            for rel, new in new_files.items()
            if new and rel.endswith(".py")
            for t in test_ids(rel, new)
        ]
    if added:
        patch, more = hidden_tests(snapshot, added)
        patches.append(patch)
        ids += more
    return "".join(patches), ids


@repair_app.command("check")
def check_command(
    repo: Annotated[Path, typer.Argument(help="the repository (at its base commit)")],
    patch: Annotated[Path, typer.Option("--patch", help="the patch to grade (unified diff)")],
    test_cmd: Annotated[str, typer.Option("--test-cmd", help="the pytest command")],
    fail_to_pass: Annotated[
        list[str] | None, typer.Option("--fail-to-pass", help="test id that must pass (repeat)")
    ] = None,
    pass_to_pass: Annotated[
        list[str] | None, typer.Option("--pass-to-pass", help="test id that must keep passing")
    ] = None,
    hidden_tests: Annotated[
        list[Path] | None,
        typer.Option("--hidden-tests", help="test file or test patch added after the patch"),
    ] = None,
    runner: Annotated[
        str, typer.Option("--runner", help="docker (fresh container) or subprocess")
    ] = "docker",
    timeout: Annotated[float, typer.Option("--timeout", help="seconds for the test run")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the grade as JSON")] = False,
) -> None:
    """Grade one patch the way search and grading do; exit 0 iff resolved, 1 if not, 2 for bad input."""
    from ponder.repair.grading import grade
    from ponder.repair.patches import parse_unified_diff
    from ponder.repair.sources import EditRejected
    from ponder.repair.testing import make_runner
    from ponder.repair.workspace import RepoSnapshot

    if not repo.is_dir():
        raise ConfigError(
            f"repository {repo} is not a directory", fix="pass a checked-out repository"
        )
    if not patch.is_file():
        raise ConfigError(
            f"patch file {patch} does not exist", fix="pass --patch FILE (a unified diff)"
        )
    patch_text = patch.read_text(encoding="utf-8")
    if patch_text.strip():
        try:
            parse_unified_diff(patch_text)
        except EditRejected as exc:
            raise ConfigError(
                f"patch file {patch} is not a unified diff: {exc.reason}",
                fix="pass a diff as `git diff` writes it",
            ) from None
    if not test_cmd.strip():
        raise ConfigError("--test-cmd is empty", fix='e.g. --test-cmd "python3 -m pytest -q tests"')
    if timeout <= 0:
        raise ConfigError(
            f"--timeout {timeout} is not positive", fix="pass seconds, e.g. --timeout 300"
        )
    test_patch, hidden_ids = _hidden_tests(repo, hidden_tests or [])
    f2p = list(dict.fromkeys([*(fail_to_pass or []), *hidden_ids]))
    p2p = list(pass_to_pass or [])
    run = make_runner(runner, timeout_s=timeout)
    if not run.isolated and not as_json:
        _err.print(f"[yellow]warning:[/] test runner {runner!r} is NOT isolated: tests run here")
    snapshot = RepoSnapshot(repo)
    report = asyncio.run(
        grade(run, snapshot, patch_text, test_cmd, f2p, p2p, test_patch=test_patch)
    )
    kinds = {t: "pass_to_pass" for t in p2p} | {t: "fail_to_pass" for t in fail_to_pass or []}
    kinds |= {t: "hidden" for t in hidden_ids}
    tests = [{"id": t, "kind": kinds[t], "outcome": o} for t, o in report.outcomes.items()]
    if as_json:
        data = {
            "resolved": report.resolved,
            "value": report.value(),
            "refused": report.status == "refused",
            "problems": report.problems,
            "tests": tests,
            "passed": report.passed,
            "failed": report.failed,
            "exit_code": report.exit_code,
            "runner": run.name,
            "isolated": run.isolated,
        }
        _out.print_json(json.dumps(data))
    else:
        for item in tests:
            mark = "[green]ok[/]" if item["outcome"] == "passed" else f"[red]{item['outcome']}[/]"
            _out.print(f"{mark}  {escape(item['id'])}  [dim]({item['kind']})[/]", highlight=False)
        for problem in report.problems:
            _out.print(f"[red]problem:[/] {escape(problem)}", highlight=False)
        _out.print(f"[bold]{'resolved' if report.resolved else 'NOT resolved'}[/]")
    if not report.resolved:
        raise typer.Exit(1)


@app.command("bench-repair")
def bench_repair_command(
    scenarios: Annotated[
        Path, typer.Option("--scenarios", help="folder of scenarios")
    ] = SCENARIOS_DIR,
    strategies: Annotated[
        str, typer.Option("--strategies", help="comma-separated")
    ] = "single,best_of_n,refine,mcts",
    only: Annotated[list[str] | None, typer.Option("--only", help="scenario name (repeat)")] = None,
    model: Annotated[str, typer.Option("--model")] = "local",
    budget_tokens: Annotated[int, typer.Option("--budget-tokens")] = 40_000,
    runner: Annotated[str, typer.Option("--runner")] = "docker",
    out: Annotated[Path | None, typer.Option("--out", help="write each run's RUN_DIR here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run every repair scenario under each strategy at the same token budget; print a table."""
    from ponder.llm import open_model
    from ponder.repair.bench import run_bench, summarize
    from ponder.repair.task import load_scenarios
    from ponder.verifiers.chooser import ChooserVerifier

    tasks = load_scenarios(scenarios)
    if only:
        unknown = set(only) - {t.id for t in tasks}
        if unknown:
            raise ConfigError(
                f"unknown scenarios {sorted(unknown)}", fix=f"use: {', '.join(t.id for t in tasks)}"
            )
        tasks = [t for t in tasks if t.id in only]
    client = open_model(model)
    _runner(runner)
    rows = asyncio.run(
        run_bench(
            client,
            lambda: _runner_quiet(runner),
            scenarios=tasks,
            strategies=[s.strip() for s in strategies.split(",") if s.strip()],
            budget_tokens=budget_tokens,
            chooser_factory=lambda b: ChooserVerifier(client, b),
            out_dir=out,
            on_row=lambda r: _err.print(
                f"{r.scenario} {r.strategy}: {'ok' if r.resolved else 'no'}"
            ),
        )
    )
    if as_json:
        _out.print_json(
            json.dumps({"rows": [r.model_dump() for r in rows], "summary": summarize(rows)})
        )
        return
    table = Table(title=f"repair bench ({model}, {budget_tokens} tokens per run)")
    for col in (
        "scenario",
        "strategy",
        "resolved",
        "tokens",
        "LLM calls",
        "test runs",
        "nodes",
        "s",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.scenario,
            r.strategy,
            "yes" if r.resolved else ("ERR" if r.error else "no"),
            str(r.tokens),
            str(r.llm_calls),
            str(r.test_runs),
            str(r.nodes),
            f"{r.seconds:g}",
        )
    _out.print(table)
    summary = Table(title="by strategy")
    for col in ("strategy", "solved", "mean tokens", "mean s"):
        summary.add_column(col)
    for s in summarize(rows):
        summary.add_row(
            s["strategy"],
            f"{s['solved']}/{s['total']}",
            str(s["mean_tokens"]),
            str(s["mean_seconds"]),
        )
    _out.print(summary)


def _runner_quiet(name: str):
    from ponder.repair.testing import make_runner

    return make_runner(name)


def _register_under_bench() -> None:
    """`ponder bench repair` (the issue's name) runs the same command as `ponder bench-repair`."""
    from ponder.cli.bench import bench_app

    bench_app.command("repair")(bench_repair_command)


_register_under_bench()
