"""Repair tasks (kind "repair"): loaders for our scenario folders, for a repository on the
command line, and for SWE-bench instance JSON as it is. Each gives a `ponder.task.Task`.

Scenario folder format (`scenarios/repair/<name>/`):

| file             | what                                                                  |
|------------------|-----------------------------------------------------------------------|
| repo/            | the repository with the planted bug (agents see it)                   |
| problem.md       | the issue-style problem statement (agents see it)                     |
| scenario.json    | `test_cmd`, `fail_to_pass`, `pass_to_pass` (pytest node ids), `bug_kind` |
| reference.patch  | a known fix, read only by grading/tests, never by agents             |
| hidden/          | hidden tests at their repository paths, added after the patch when   |
|                  | grading (every test in them joins FAIL_TO_PASS); agents never see it |

The visible part is the problem (`prompt`) and a `Repository` (checkout, test command, the
visible test ids); the hidden part (reference patch, SWE-bench's `test_patch`, a scenario's
hidden tests, and the test ids grading requires) lives in `HiddenPart`, which the search never
receives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ponder.errors import ConfigError, TaskFormatError
from ponder.repair.hidden import hidden_tests, read_test_dir
from ponder.repair.workspace import RepoSnapshot
from ponder.task import HiddenPart, Repository, Task, VisibleTask, read_entries, record_error

M = TypeVar("M", bound=BaseModel)
DEFAULT_TEST_CMD = "python3 -m pytest -q"


def with_repo_dir(task: Task, repo_dir: str | Path) -> Task:
    """The task with its repository at a local checkout."""
    repo = task.visible.repository
    if repo is None:
        raise ConfigError(f"task {task.id} is not a repair task", fix="pass a repair task")
    visible = task.visible.model_copy(
        update={"repository": repo.model_copy(update={"dir": str(Path(repo_dir).resolve())})}
    )
    return task.model_copy(update={"visible": visible})


def _repair_task(hidden: HiddenPart | None = None, **visible: Any) -> Task:
    """A repair task from its hidden part and the `VisibleTask` fields."""
    return Task(visible=VisibleTask(kind="repair", **visible), hidden=hidden or HiddenPart())


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    bug_kind: str | None = None
    test_cmd: str = DEFAULT_TEST_CMD
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    description: str | None = None


class _SweInstance(BaseModel):
    """The fields of a SWE-bench instance this loader reads (it ignores the others)."""

    instance_id: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    base_commit: str = Field(min_length=1)
    problem_statement: str = Field(min_length=1)
    patch: str | None = None
    test_patch: str | None = None
    version: Any = None
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        """SWE-bench stores the test ids as JSON-encoded lists."""
        if value is None or value == "":
            return []
        return json.loads(value) if isinstance(value, str) else value


def _validate(model: type[M], data: Any, where: str, fix: str) -> M:
    """`data` as `model`; the first problem becomes a TaskFormatError naming `where` and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise record_error(where, exc, model, fix) from None


def load_scenario(directory: str | Path) -> Task:
    """A scenario folder (repo/, problem.md, scenario.json, optional reference.patch)."""
    root = Path(directory)
    meta_path = root / "scenario.json"
    for needed in (root / "repo", root / "problem.md", meta_path):
        if not needed.exists():
            raise TaskFormatError(
                f"scenario {root}: missing {needed.name}",
                fix="a scenario folder holds repo/, problem.md and scenario.json",
            )
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaskFormatError(
            f"{meta_path}: line {exc.lineno}: invalid JSON ({exc.msg})", fix="fix the JSON syntax"
        ) from None
    fields = ", ".join(_ScenarioFile.model_fields)
    meta = _validate(_ScenarioFile, data, str(meta_path), f"allowed fields: {fields}")
    reference = root / "reference.patch"
    repository = Repository(
        dir=str((root / "repo").resolve()),
        test_cmd=meta.test_cmd,
        fail_to_pass=meta.fail_to_pass,
        pass_to_pass=meta.pass_to_pass,
    )
    test_patch, hidden_ids = "", []
    if (root / "hidden").is_dir():
        files = read_test_dir(root / "hidden")
        test_patch, hidden_ids = hidden_tests(RepoSnapshot(root / "repo"), files)
    hidden = HiddenPart(
        reference_solution=reference.read_text(encoding="utf-8") if reference.exists() else None,
        test_patch=test_patch,
        hidden_fail_to_pass=meta.fail_to_pass + hidden_ids if hidden_ids else [],
        hidden_pass_to_pass=meta.pass_to_pass if hidden_ids else [],
    )
    return _repair_task(
        hidden,
        id=meta.name or root.name,
        prompt=(root / "problem.md").read_text(encoding="utf-8"),
        repository=repository,
        metadata={"bug_kind": meta.bug_kind},
    )


def load_scenarios(directory: str | Path) -> list[Task]:
    """Every scenario folder under `directory`, sorted by name."""
    root = Path(directory)
    found = sorted(p.parent for p in root.glob("*/scenario.json"))
    if not found:
        raise TaskFormatError(
            f"no scenarios under {root}",
            fix="pass a folder holding <name>/scenario.json folders (the built-in ones are "
            "under scenarios/repair/ in a checkout of the repository)",
        )
    return [load_scenario(p) for p in found]


def is_scenario_dir(path: str | Path) -> bool:
    return (Path(path) / "scenario.json").is_file()


def task_from_repo(
    repo_dir: str | Path,
    problem: str,
    test_cmd: str,
    fail_to_pass: list[str] | None = None,
    pass_to_pass: list[str] | None = None,
) -> Task:
    """A task from `ponder repair REPO_DIR --test-cmd ... --problem ...` (no hidden part)."""
    root = Path(repo_dir)
    if not root.is_dir():
        raise ConfigError(
            f"repository {root} is not a directory", fix="pass a checked-out repository"
        )
    if not problem.strip():
        raise ConfigError(
            "the problem statement is empty", fix="pass --problem TEXT or --problem-file F"
        )
    if not test_cmd.strip():
        raise ConfigError("the test command is empty", fix='pass --test-cmd "python3 -m pytest -q"')
    repository = Repository(
        dir=str(root.resolve()),
        test_cmd=test_cmd,
        fail_to_pass=fail_to_pass or [],
        pass_to_pass=pass_to_pass or [],
    )
    return _repair_task(id=root.resolve().name, prompt=problem, repository=repository)


# ---------------------------------------------------------------- SWE-bench instances


def swe_bench_task(
    record: dict[str, Any],
    where: str = "instance",
    test_cmd: str | None = None,
    tests_visible: bool = False,
) -> Task:
    """One SWE-bench instance as it is. Its gold patch, test patch and test ids are hidden,
    unless `tests_visible` (the "oracle tests" setting: the test patch is applied before the
    search and FAIL_TO_PASS / PASS_TO_PASS become visible)."""
    fix = (
        "a SWE-bench instance has instance_id, repo, base_commit and problem_statement, and "
        "FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded lists of test ids"
    )
    inst = _validate(_SweInstance, record, where, fix)
    test_patch = inst.test_patch or ""
    repository = Repository(
        url=f"https://github.com/{inst.repo}.git",
        base_commit=inst.base_commit,
        test_cmd=test_cmd or DEFAULT_TEST_CMD,
        fail_to_pass=inst.FAIL_TO_PASS if tests_visible else [],
        pass_to_pass=inst.PASS_TO_PASS if tests_visible else [],
        setup_patch=test_patch if tests_visible else "",
    )
    hidden = HiddenPart(
        reference_solution=inst.patch,
        test_patch=test_patch,  # grading applies it after the patch, in both settings
        hidden_fail_to_pass=inst.FAIL_TO_PASS,
        hidden_pass_to_pass=inst.PASS_TO_PASS,
    )
    return _repair_task(
        hidden,
        id=inst.instance_id,
        prompt=inst.problem_statement,
        repository=repository,
        metadata={"repo": inst.repo, "version": inst.version, "source": "swe-bench"},
    )


def load_swe_bench(path: str | Path, instance_id: str | None = None, **options: Any) -> list[Task]:
    """SWE-bench instances from a .jsonl (one per line) or .json (list) file."""
    path = Path(path)
    if not path.is_file():
        raise TaskFormatError(
            f"SWE-bench file {path} does not exist", fix="pass a .jsonl of instances"
        )
    tasks = [
        swe_bench_task(record, f"{path}: {where}", **options)
        for where, record in read_entries(path, path.read_text(encoding="utf-8"))
        if instance_id is None or record.get("instance_id") == instance_id
    ]
    if instance_id is not None and not tasks:
        raise ConfigError(f"no instance {instance_id!r} in {path}", fix="check the instance_id")
    return tasks
