"""One repair run end to end: search over patches, grade, and write the run directory.

RUN_DIR holds patch.diff (git-style, applies with `git apply` or `patch -p1`), result.json,
tree.json (a `ThoughtTree`), events.jsonl, report.md and report.html (the tree view). The original repository is never
written to unless `apply=True`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.llm.client import ModelClient
from ponder.repair.agent import RepairAgent, RepairSettings
from ponder.repair.grading import grade
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.search import RepairContext, make_strategy
from ponder.repair.task import RepairTask
from ponder.repair.testing import CachingRunner
from ponder.repair.workspace import RepoSnapshot, write_changes
from ponder.report.tree_view import write_run_report


class RepairResult(BaseModel):
    """What a repair run found and spent."""

    task_id: str
    strategy: str
    resolved: bool  # the chosen patch passes the visible FAIL_TO_PASS / PASS_TO_PASS
    patch: str = ""
    node: str | None = None
    value: float = 0.0
    tests: dict[str, Any] | None = None
    localization: list[str] = Field(default_factory=list)
    budget: dict[str, Any] = Field(default_factory=dict)
    grade: dict[str, Any] | None = None  # hidden-part grade, computed after the search
    runner: str = ""
    isolated: bool = True
    applied: bool = False
    run_dir: str | None = None
    nodes: int = 0


def final_patch(task: RepairTask, snapshot: RepoSnapshot, patch: str) -> str:
    """The node's patch without the files the task's setup patch touched."""
    if not task.spec.setup_patch or not patch:
        return patch
    setup = set(apply_patch(snapshot, task.spec.setup_patch))
    changes = {k: v for k, v in apply_patch(snapshot, patch).items() if k not in setup}
    return make_patch(snapshot, changes)


async def grade_patch(task: RepairTask, patch: str, runner: CachingRunner) -> dict[str, Any]:
    """Grade with the hidden part: the patch policy, then the hidden test patch (SWE-bench's
    test_patch, a scenario's hidden/ tests) and the hidden test ids (else the visible ones).

    Call only after the search ended.
    """
    snapshot = RepoSnapshot(task.spec.repo_dir or ".")
    hidden = task.hidden
    f2p = hidden.fail_to_pass or task.spec.fail_to_pass
    p2p = hidden.pass_to_pass or task.spec.pass_to_pass
    report = await grade(
        runner,
        snapshot,
        patch,
        task.spec.test_cmd,
        f2p,
        p2p,
        test_patch=hidden.test_patch,
        protected=task.spec.protected_files(),
    )
    return {
        "resolved": report.resolved,
        "value": report.value(),
        "f2p_failed": report.f2p_failed,
        "p2p_broken": report.p2p_broken,
        "outcomes": report.outcomes,
        "problems": report.problems,
        "hidden_tests": bool(hidden.test_patch or hidden.fail_to_pass),
    }


async def repair(
    task: RepairTask,
    client: ModelClient,
    runner: CachingRunner,
    *,
    strategy: str = "mcts",
    options: dict[str, Any] | None = None,
    budget: Budget | None = None,
    settings: RepairSettings | None = None,
    chooser: Any = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    apply: bool = False,
    grade: bool = True,
) -> RepairResult:
    """Search for a patch that makes the task's tests pass; write RUN_DIR when `out_dir` is set."""
    if task.spec.repo_dir is None:
        raise ConfigError(
            f"task {task.id} has no local repository",
            fix="pass --repo-dir with a checkout of the repository at its base commit",
        )
    budget = budget or Budget()
    runner.budget = budget
    snapshot = RepoSnapshot(task.spec.repo_dir)
    search = make_strategy(strategy, options)
    ctx = RepairContext(
        spec=task.view(),
        snapshot=snapshot,
        runner=runner,
        agent=RepairAgent(client, settings),
        budget=budget,
        options=search.options,
        chooser=chooser,
        seed=seed,
    )
    await ctx.start()
    best = await search.run(ctx)
    if best is not None:
        ctx.tree.set_winner(best.id)
    report = ctx.report_of(best.id) if best is not None else None
    patch = final_patch(task, snapshot, ctx.patch_of(best.id)) if best is not None else ""
    result = RepairResult(
        task_id=task.id,
        strategy=strategy,
        resolved=bool(report and report.resolved),
        patch=patch,
        node=best.id if best else None,
        value=ctx.value(best.id) if best else 0.0,
        tests=report.to_dict() if report else None,
        localization=ctx.loc.paths(5) if ctx.loc else [],
        budget=budget.report(),
        runner=runner.name,
        isolated=runner.isolated,
        nodes=len(ctx.tree),
    )
    if grade and patch:
        result.grade = await grade_patch(task, patch, runner)
    if apply and patch:
        write_changes(snapshot.root, apply_patch(snapshot, patch))
        result.applied = True
    if out_dir is not None:
        result.run_dir = str(write_run_dir(Path(out_dir), task, result, ctx))
    return result


def write_run_dir(out: Path, task: RepairTask, result: RepairResult, ctx: RepairContext) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "patch.diff").write_text(result.patch, encoding="utf-8")
    (out / "result.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    ctx.tree.save(out / "tree.json")
    with (out / "events.jsonl").open("w", encoding="utf-8") as fh:
        for event in ctx.events:
            fh.write(json.dumps(event, default=str) + "\n")
    (out / "report.md").write_text(render_report(task, result), encoding="utf-8")
    write_run_report(out)  # report.html: the tree view `ponder tree show` writes
    return out


def render_report(task: RepairTask, result: RepairResult) -> str:
    spent = result.budget.get("spent", {})
    lines = [
        f"# Repair: {task.id}",
        "",
        f"- strategy: {result.strategy}",
        f"- resolved (visible tests): {result.resolved}",
        f"- grade (after search): {result.grade}",
        f"- value of the chosen patch: {result.value}",
        f"- nodes in the tree: {result.nodes}",
        f"- localized files: {', '.join(result.localization)}",
        f"- test runner: {result.runner}{'' if result.isolated else ' (NOT isolated)'}",
        f"- spent: {spent.get('total_tokens', 0)} tokens, {spent.get('llm_calls', 0)} LLM calls, "
        f"{spent.get('sandbox_runs', 0)} test runs, {result.budget.get('wall_seconds', 0)} s",
        f"- applied to the repository: {result.applied}",
        "",
        "## Problem",
        "",
        task.spec.problem.strip(),
        "",
        "## Patch",
        "",
        "```diff",
        result.patch.rstrip() or "(none)",
        "```",
    ]
    return "\n".join(lines) + "\n"
