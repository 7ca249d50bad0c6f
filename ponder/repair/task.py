"""Repair tasks: a repository, a problem statement and a test command; loaders for our
scenario folders and for SWE-bench instance JSON as it is.

Scenario folder format (`scenarios/repair/<name>/`):

| file             | what                                                                  |
|------------------|-----------------------------------------------------------------------|
| repo/            | the repository with the planted bug (agents see it)                   |
| problem.md       | the issue-style problem statement (agents see it)                     |
| scenario.json    | `test_cmd`, `fail_to_pass`, `pass_to_pass` (pytest node ids), `bug_kind` |
| reference.patch  | a known fix, read only by grading/tests, never by agents             |
| hidden/          | hidden tests at their repository paths, added after the patch when   |
|                  | grading (every test in them joins FAIL_TO_PASS); agents never see it |

The hidden part (reference patch, SWE-bench's gold `patch` and `test_patch`, and SWE-bench's
FAIL_TO_PASS / PASS_TO_PASS, which name tests the agent cannot see) lives in `RepairHidden`;
agents and verifiers are handed `RepairTask.view()`, a `RepairSpec` with no hidden field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import ConfigError, TaskFormatError
from ponder.repair.hidden import hidden_tests, read_test_dir
from ponder.repair.workspace import RepoSnapshot

DEFAULT_TEST_CMD = "python3 -m pytest -q"


class RepairSpec(BaseModel):
    """The visible part of a repair task: what agents and verifiers may read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    problem: str = Field(min_length=1)
    test_cmd: str = Field(min_length=1)
    repo_dir: str | None = None
    repo_url: str | None = None
    base_commit: str | None = None
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    setup_patch: str = ""  # applied before any candidate (e.g. SWE-bench tests made visible)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def protected_files(self) -> set[str]:
        """Test files named by the test ids: a candidate may not edit them."""
        return {tid.split("::", 1)[0] for tid in self.fail_to_pass + self.pass_to_pass}


class RepairHidden(BaseModel):
    """What only grading reads, after the search."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference_patch: str | None = None
    test_patch: str = ""  # applied on top of the candidate before grading (SWE-bench)
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)


class RepairTask(BaseModel):
    """A repair task: the visible spec plus the hidden part."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: RepairSpec
    hidden: RepairHidden = Field(default_factory=RepairHidden)

    @property
    def id(self) -> str:
        return self.spec.id

    def view(self) -> RepairSpec:
        """The visible-only spec handed to agents and verifiers."""
        return self.spec

    def with_repo_dir(self, repo_dir: str | Path) -> RepairTask:
        return self.model_copy(
            update={"spec": self.spec.model_copy(update={"repo_dir": str(repo_dir)})}
        )


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    bug_kind: str | None = None
    test_cmd: str = DEFAULT_TEST_CMD
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    description: str | None = None


def load_scenario(directory: str | Path) -> RepairTask:
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
        meta = _ScenarioFile.model_validate(json.loads(meta_path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise TaskFormatError(
            f"{meta_path}: line {exc.lineno}: invalid JSON ({exc.msg})", fix="fix the JSON syntax"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise TaskFormatError(
            f"{meta_path}: field '{field}': {first['msg']}",
            fix=f"allowed fields: {', '.join(_ScenarioFile.model_fields)}",
        ) from None
    reference = root / "reference.patch"
    spec = RepairSpec(
        id=meta.name or root.name,
        problem=(root / "problem.md").read_text(encoding="utf-8"),
        test_cmd=meta.test_cmd,
        repo_dir=str((root / "repo").resolve()),
        fail_to_pass=meta.fail_to_pass,
        pass_to_pass=meta.pass_to_pass,
        metadata={"bug_kind": meta.bug_kind, "scenario_dir": str(root.resolve())},
    )
    test_patch, hidden_ids = "", []
    if (root / "hidden").is_dir():
        files = read_test_dir(root / "hidden")
        test_patch, hidden_ids = hidden_tests(RepoSnapshot(root / "repo"), files)
    hidden = RepairHidden(
        reference_patch=reference.read_text(encoding="utf-8") if reference.exists() else None,
        test_patch=test_patch,
        fail_to_pass=meta.fail_to_pass + hidden_ids if hidden_ids else [],
        pass_to_pass=meta.pass_to_pass if hidden_ids else [],
    )
    return RepairTask(spec=spec, hidden=hidden)


def load_scenarios(directory: str | Path) -> list[RepairTask]:
    """Every scenario folder under `directory`, sorted by name."""
    root = Path(directory)
    found = sorted(p.parent for p in root.glob("*/scenario.json"))
    if not found:
        raise TaskFormatError(
            f"no scenarios under {root}", fix="pass a folder holding <name>/scenario.json folders"
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
    task_id: str | None = None,
) -> RepairTask:
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
    spec = RepairSpec(
        id=task_id or root.resolve().name,
        problem=problem,
        test_cmd=test_cmd,
        repo_dir=str(root.resolve()),
        fail_to_pass=list(fail_to_pass or []),
        pass_to_pass=list(pass_to_pass or []),
    )
    return RepairTask(spec=spec)


# ---------------------------------------------------------------- SWE-bench instances

_SWE_REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")


def _id_list(value: Any, where: str, field: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise TaskFormatError(
                f"{where}: field '{field}': not a JSON list of test ids",
                fix="SWE-bench stores FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded lists",
            ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskFormatError(
            f"{where}: field '{field}': expected a list of test ids", fix="fix the instance"
        )
    return value


def swe_bench_task(
    record: dict[str, Any],
    where: str = "instance",
    test_cmd: str | None = None,
    tests_visible: bool = False,
) -> RepairTask:
    """One SWE-bench instance as it is. Its gold patch, test patch and test ids are hidden,
    unless `tests_visible` (the "oracle tests" setting: the test patch is applied before the
    search and FAIL_TO_PASS / PASS_TO_PASS become visible)."""
    missing = [f for f in _SWE_REQUIRED if not record.get(f)]
    if missing:
        raise TaskFormatError(
            f"{where}: field '{missing[0]}': required field is missing",
            fix=f"a SWE-bench instance has {', '.join(_SWE_REQUIRED)}",
        )
    f2p = _id_list(record.get("FAIL_TO_PASS"), where, "FAIL_TO_PASS")
    p2p = _id_list(record.get("PASS_TO_PASS"), where, "PASS_TO_PASS")
    test_patch = record.get("test_patch") or ""
    spec = RepairSpec(
        id=record["instance_id"],
        problem=record["problem_statement"],
        test_cmd=test_cmd or DEFAULT_TEST_CMD,
        repo_url=f"https://github.com/{record['repo']}.git",
        base_commit=record["base_commit"],
        fail_to_pass=f2p if tests_visible else [],
        pass_to_pass=p2p if tests_visible else [],
        setup_patch=test_patch if tests_visible else "",
        metadata={"repo": record["repo"], "version": record.get("version"), "source": "swe-bench"},
    )
    hidden = RepairHidden(
        reference_patch=record.get("patch"),
        test_patch=test_patch,  # grading applies it after the patch, in both settings
        fail_to_pass=f2p,
        pass_to_pass=p2p,
    )
    return RepairTask(spec=spec, hidden=hidden)


def load_swe_bench(
    path: str | Path, instance_id: str | None = None, **options: Any
) -> list[RepairTask]:
    """SWE-bench instances from a .jsonl (one per line) or .json (list) file."""
    path = Path(path)
    if not path.is_file():
        raise TaskFormatError(
            f"SWE-bench file {path} does not exist", fix="pass a .jsonl of instances"
        )
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        entries = [
            (f"{path}: item {i + 1}", r)
            for i, r in enumerate(data if isinstance(data, list) else [data])
        ]
    else:
        entries = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    entries.append((f"{path}: line {lineno}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise TaskFormatError(
                        f"{path}: line {lineno}: invalid JSON ({exc.msg})",
                        fix="one SWE-bench instance object per line",
                    ) from None
    tasks = [
        swe_bench_task(record, where, **options)
        for where, record in entries
        if instance_id is None or record.get("instance_id") == instance_id
    ]
    if instance_id is not None and not tasks:
        raise ConfigError(f"no instance {instance_id!r} in {path}", fix="check the instance_id")
    return tasks
