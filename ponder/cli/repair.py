"""`ponder repair` (search for a patch that makes a repository's tests pass: a front end that
builds a repair task and a run config for the graph `ponder solve` runs) and `ponder repair
check` (grade one patch as search and grading do). The repair scenarios are benched like any
other scenario: `ponder bench repair`."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ponder.cli.app import app
from ponder.errors import ConfigError

if TYPE_CHECKING:
    from ponder.repair.workspace import RepoSnapshot

_out = Console()
_err = Console(stderr=True)


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


def _read(path: Path, what: str, fix: str) -> str:
    """The text of the file `path`; a ConfigError naming it (as `what`) and the fix if none."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist", fix=fix)
    return path.read_text(encoding="utf-8")


async def _repair(task, config, out: Path | None, resume: Path | None):
    from ponder.llm import open_model
    from ponder.runner import resume_run, solve_task
    from ponder.sandbox import open_sandbox

    async with (
        open_model(config.model, cache=config.cache) as model,
        open_sandbox(config.sandbox) as sandbox,
    ):
        if not sandbox.isolated:
            _err.print("[yellow]warning:[/] --sandbox local is NOT isolated: tests run here")
        if resume is not None:
            return await resume_run(resume, model=model, sandbox=sandbox)
        return await solve_task(task, config, model=model, sandbox=sandbox, out_dir=out)


@repair_app.command("run")
def repair_command(
    target: Annotated[
        Path | None, typer.Argument(help="REPO_DIR, a scenario folder, or a SWE-bench .jsonl")
    ] = None,
    test_cmd: Annotated[str | None, typer.Option(help="the test command")] = None,
    problem: Annotated[str | None, typer.Option(help="the problem statement")] = None,
    problem_file: Path | None = None,
    fail_to_pass: Annotated[list[str] | None, typer.Option(help="test id (repeat)")] = None,
    pass_to_pass: Annotated[list[str] | None, typer.Option(help="test id (repeat)")] = None,
    instance: Annotated[str | None, typer.Option(help="SWE-bench instance_id")] = None,
    repo_dir: Annotated[Path | None, typer.Option(help="checkout for a SWE-bench instance")] = None,
    tests_visible: Annotated[
        bool, typer.Option("--tests-visible", help="SWE-bench: apply test_patch before the search")
    ] = False,
    strategy: Annotated[
        str | None, typer.Option(help="greedy, best_of_n, refine, mcts, ...")
    ] = None,
    option: Annotated[list[str] | None, typer.Option(help="strategy option NAME=VALUE")] = None,
    model: str | None = None,
    sandbox: Annotated[
        str | None, typer.Option(help="docker (a fresh container per test run) or local")
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option(help="completion tokens, as in ponder solve")
    ] = None,
    seed: int | None = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="run config YAML (as ponder solve's)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="run directory")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="go on with a killed or stopped RUN_DIR")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="apply the patch to the repository")
    ] = False,
) -> None:
    """Search over patches until the repository's tests pass, through the same graph, run
    directory and resume as `ponder solve`; print the patch and write RUN_DIR/patch.diff."""
    from ponder.config import load_config
    from ponder.kinds.repair import snapshot_of
    from ponder.repair import task as repair_task
    from ponder.repair.grading import final_patch
    from ponder.repair.patches import apply_patch
    from ponder.repair.workspace import write_changes
    from ponder.runner import load_run

    if resume is not None:
        task, config = load_run(resume)
    elif target is None:
        raise ConfigError(
            "no repair target given", fix="pass REPO_DIR, a scenario folder, or --resume RUN_DIR"
        )
    elif target.is_file():
        tasks = repair_task.load_swe_bench(
            target, instance, test_cmd=test_cmd, tests_visible=tests_visible
        )
        if len(tasks) != 1:
            raise ConfigError(
                f"{target} holds {len(tasks)} instances; which one?",
                fix="name one with --instance INSTANCE_ID",
            )
        if repo_dir is None:
            repository = tasks[0].visible.repository
            raise ConfigError(
                f"SWE-bench instance {tasks[0].id} has no local checkout",
                fix=f"git clone {repository.url}, check out {repository.base_commit}, "
                "and pass it with --repo-dir",
            )
        task = repair_task.with_repo_dir(tasks[0], repo_dir)
    elif repair_task.is_scenario_dir(target):
        task = repair_task.load_scenario(target)
    else:
        if problem_file is not None:
            problem = _read(problem_file, "problem file", fix="pass an existing file")
        if problem is None or test_cmd is None:
            raise ConfigError(
                f"{target} is a repository: it needs --test-cmd and --problem (or --problem-file)",
                fix='e.g. ponder repair REPO --test-cmd "python3 -m pytest -q" --problem-file issue.md',
            )
        task = repair_task.task_from_repo(target, problem, test_cmd, fail_to_pass, pass_to_pass)
    if resume is None:
        # The same RunConfig `ponder solve` uses; the repair kind adds its own defaults (mcts
        # over whole patches, shorter replies).
        overrides = {
            "strategy": strategy,
            "model": model,
            "sandbox": sandbox,
            "seed": seed,
            "search": _options(option or []) or None,
            "budget": {"tokens": budget_tokens} if budget_tokens is not None else None,
        }
        config = load_config(config_file, overrides)
        out = out or Path("runs") / f"repair-{task.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = asyncio.run(_repair(task, config, out, resume))
    patch = final_patch(task, result.solution or "")
    run_dir = Path(result.run_dir)
    (run_dir / "patch.diff").write_text(patch, encoding="utf-8")
    if apply and patch:
        snapshot = snapshot_of(task.visible)
        write_changes(snapshot.root, apply_patch(snapshot, patch))
    _out.print(patch or "(no patch)", markup=False, highlight=False)
    spent = result.budget["spent"]
    grade = result.grade
    hidden = "" if grade is None else f", hidden tests {'pass' if grade['correct'] else 'FAIL'}"
    _err.print(
        f"[bold]{'resolved' if result.passed_public else 'NOT resolved'}[/] {task.id} with "
        f"{config.strategy}{hidden}: {spent['completion_tokens']} completion tokens, "
        f"{spent['llm_calls']} LLM calls, {spent['sandbox_runs']} test runs; run dir {run_dir}"
        + (" (patch applied)" if apply and patch else "")
    )
    if not result.passed_public:
        raise typer.Exit(1)


def _hidden_tests(snapshot: RepoSnapshot, files: list[Path]) -> tuple[str, list[str]]:
    """`--hidden-tests` files as one test patch and the ids of the tests in the files it adds
    or changes.

    A diff (as SWE-bench's test_patch) is applied as it is, on top of the files before it; a
    `.py` file goes to tests/ (or the repository root when there is no tests/) under its own
    name.
    """
    from ponder.repair.hidden import test_ids
    from ponder.repair.patches import apply_patch, make_patch
    from ponder.repair.sources import EditRejected
    from ponder.repair.workspace import PatchedView

    folder = "tests/" if (snapshot.root / "tests").is_dir() else ""
    view = PatchedView(snapshot)
    for path in files:
        text = _read(
            path,
            "hidden tests file",
            fix="pass a test file (.py) or a test patch (unified diff) with --hidden-tests",
        )
        if path.suffix == ".py":
            view.changes[f"{folder}{path.name}"] = text
            continue
        try:
            view.changes |= apply_patch(view, text)
        except EditRejected as exc:
            raise ConfigError(
                f"hidden tests file {path} is not a diff that applies to {snapshot.root}: "
                f"{exc.reason}",
                fix="pass a unified diff made against the repository (or a .py test file)",
            ) from None
    changed = view.changes.items()
    ids = [t for rel, new in changed if new and rel.endswith(".py") for t in test_ids(rel, new)]
    return make_patch(snapshot, view.changes), ids


@repair_app.command("check")
def check_command(
    repo: Annotated[Path, typer.Argument(help="the repository (at its base commit)")],
    patch: Annotated[Path, typer.Option(help="the patch to grade (unified diff)")],
    test_cmd: Annotated[str, typer.Option(help="the pytest command")],
    fail_to_pass: Annotated[
        list[str] | None, typer.Option(help="test id that must pass (repeat)")
    ] = None,
    pass_to_pass: Annotated[
        list[str] | None, typer.Option(help="test id that must keep passing")
    ] = None,
    hidden_tests: Annotated[
        list[Path] | None, typer.Option(help="test file or test patch added after the patch")
    ] = None,
    sandbox: Annotated[str, typer.Option(help="docker (a fresh container) or local")] = "docker",
    timeout: Annotated[float, typer.Option(help="seconds for the test run")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the grade as JSON")] = False,
) -> None:
    """Grade one patch the way search and grading do; exit 0 iff resolved, 1 if not, 2 for bad input."""
    from ponder.repair.grading import grade
    from ponder.repair.patches import parse_unified_diff
    from ponder.repair.sources import EditRejected
    from ponder.repair.testing import RepoRunner
    from ponder.repair.workspace import RepoSnapshot
    from ponder.sandbox import open_sandbox

    if not repo.is_dir():
        raise ConfigError(
            f"repository {repo} is not a directory", fix="pass a checked-out repository"
        )
    patch_text = _read(patch, "patch file", fix="pass --patch FILE (a unified diff)")
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
    snapshot = RepoSnapshot(repo)
    test_patch, hidden_ids = _hidden_tests(snapshot, hidden_tests or [])
    f2p = list(dict.fromkeys([*(fail_to_pass or []), *hidden_ids]))
    p2p = pass_to_pass or []
    box = open_sandbox(sandbox)  # a tree run starts no pool: one fresh runner per run
    run = RepoRunner(box, timeout_s=timeout)
    if not run.isolated and not as_json:
        _err.print(f"[yellow]warning:[/] --sandbox {sandbox} is NOT isolated: tests run here")

    async def graded():
        try:
            return await grade(run, snapshot, patch_text, test_cmd, f2p, p2p, test_patch=test_patch)
        finally:
            await box.close()

    report = asyncio.run(graded())
    kinds = dict.fromkeys(p2p, "pass_to_pass") | dict.fromkeys(fail_to_pass or [], "fail_to_pass")
    kinds |= dict.fromkeys(hidden_ids, "hidden")
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
