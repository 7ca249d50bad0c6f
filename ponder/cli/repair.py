"""`ponder repair` (search for a patch that makes a repository's tests pass: a front end that
builds a repair task and a run config for the graph `ponder solve` runs) and `ponder repair
check` (grade one patch as search and grading do). The repair scenarios are benched like any
other scenario: `ponder bench repair`."""

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
from typer.core import TyperGroup

from ponder.cli.app import app
from ponder.errors import ConfigError

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
    from ponder.repair.task import (
        is_scenario_dir,
        load_scenario,
        load_swe_bench,
        task_from_repo,
        with_repo_dir,
    )

    if target.is_file():
        tasks = load_swe_bench(target, instance, test_cmd=test_cmd, tests_visible=tests_visible)
        if len(tasks) != 1:
            raise ConfigError(
                f"{target} holds {len(tasks)} instances; which one?",
                fix="name one with --instance INSTANCE_ID",
            )
        task = tasks[0]
        if repo_dir is None:
            repository = task.visible.repository
            raise ConfigError(
                f"SWE-bench instance {task.id} has no local checkout",
                fix=f"git clone {repository.url}, check out {repository.base_commit}, "
                "and pass it with --repo-dir",
            )
        return with_repo_dir(task, repo_dir)
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


def _repair_config(
    config_file: Path | None,
    strategy: str | None,
    option: list[str],
    model: str | None,
    sandbox: str | None,
    budget_tokens: int | None,
    seed: int | None,
):
    """The run config of a repair: the same RunConfig `ponder solve` uses (the repair kind
    adds its own defaults: mcts over whole patches, shorter replies)."""
    from ponder.config import load_config

    overrides: dict[str, Any] = {
        "strategy": strategy,
        "model": model,
        "sandbox": sandbox,
        "seed": seed,
        "search": _options(option) or None,
        "budget": {"tokens": budget_tokens} if budget_tokens is not None else None,
    }
    return load_config(config_file, overrides)


async def _repair(task, config, out: Path | None, resume: Path | None):
    from ponder.llm import open_model
    from ponder.runner import resume_run, solve_task
    from ponder.sandbox import open_sandbox

    model = open_model(config.model, cache=config.cache)
    sandbox = open_sandbox(config.sandbox)
    try:
        await sandbox.start()
        if not sandbox.isolated:
            _err.print("[yellow]warning:[/] --sandbox local is NOT isolated: tests run here")
        if resume is not None:
            return await resume_run(resume, model=model, sandbox=sandbox)
        return await solve_task(task, config, model=model, sandbox=sandbox, out_dir=out)
    finally:
        await sandbox.close()
        await model.aclose()


@repair_app.command("run")
def repair_command(
    target: Annotated[
        Path | None, typer.Argument(help="REPO_DIR, a scenario folder, or a SWE-bench .jsonl")
    ] = None,
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
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="greedy, best_of_n, refine, mcts, ...")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="strategy option NAME=VALUE")
    ] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    sandbox: Annotated[
        str | None,
        typer.Option("--sandbox", help="docker (a fresh container per test run) or local"),
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option("--budget-tokens", help="completion tokens, as in ponder solve")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="run config YAML (as ponder solve's)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="run directory")] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="go on with a killed or stopped RUN_DIR")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="apply the patch to the repository")
    ] = False,
) -> None:
    """Search over patches until the repository's tests pass, through the same graph, run
    directory and resume as `ponder solve`; print the patch and write RUN_DIR/patch.diff."""
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
    else:
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
        config = _repair_config(
            config_file, strategy, option or [], model, sandbox, budget_tokens, seed
        )
        out = out or Path("runs") / f"repair-{task.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = asyncio.run(_repair(task, config, out, resume))
    patch = final_patch(task, result.solution or "")
    run_dir = Path(result.run_dir)
    (run_dir / "patch.diff").write_text(patch, encoding="utf-8")
    repository = task.visible.repository
    if apply and patch and repository is not None and repository.dir:
        from ponder.kinds.repair import snapshot_of

        write_changes(repository.dir, apply_patch(snapshot_of(task.visible), patch))
    _out.print(patch or "(no patch)", markup=False, highlight=False)
    spent = result.budget["spent"]
    resolved = bool(result.passed_public)
    graded = result.grade
    grade_note = (
        "" if graded is None else (f", hidden tests {'pass' if graded['correct'] else 'FAIL'}")
    )
    _err.print(
        f"[bold]{'resolved' if resolved else 'NOT resolved'}[/] {task.id} with "
        f"{config.strategy}{grade_note}: {spent['completion_tokens']} completion tokens, "
        f"{spent['llm_calls']} LLM calls, {spent['sandbox_runs']} test runs; run dir {run_dir}"
        + (" (patch applied)" if apply and patch else "")
    )
    if not resolved:
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
    sandbox: Annotated[
        str, typer.Option("--sandbox", help="docker (a fresh container) or local")
    ] = "docker",
    timeout: Annotated[float, typer.Option("--timeout", help="seconds for the test run")] = 300.0,
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
    box = open_sandbox(sandbox)  # a tree run starts no pool: one fresh runner per run
    run = RepoRunner(box, timeout_s=timeout)
    if not run.isolated and not as_json:
        _err.print(f"[yellow]warning:[/] --sandbox {sandbox} is NOT isolated: tests run here")
    snapshot = RepoSnapshot(repo)

    async def graded():
        try:
            return await grade(run, snapshot, patch_text, test_cmd, f2p, p2p, test_patch=test_patch)
        finally:
            await box.close()

    report = asyncio.run(graded())
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
