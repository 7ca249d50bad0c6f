"""Tasks: a visible part for search, a hidden part for grading, and the task file format.

Task file format (JSON Lines, one task per line; a `.json` file may hold one object or a
list of them). Blank lines and lines starting with `#` are skipped. Fields:

| field              | type                  | required | meaning                                        |
|--------------------|-----------------------|----------|------------------------------------------------|
| kind               | "code" / "math" / "repair" / a plug-in | yes | what the answer is: a program, a value, a patch |
| id                 | string                | yes      | unique within the file                          |
| prompt             | string                | yes      | the problem statement the agents see            |
| entry_point        | string                | no       | the function the code must define               |
| public_tests       | list of str, or str   | no       | tests agents and verifiers may see (asserts)    |
| repository         | object                | repair   | dir/url/base_commit, test_cmd, fail_to_pass, pass_to_pass, setup_patch (visible) |
| hidden_tests       | list of str, or str   | no       | tests used only to grade after the search       |
| answer             | string or number      | no       | reference final answer (math), grading only     |
| reference_solution | string                | no       | a known-good solution (a repair's reference patch), grading only |
| test_patch         | string (diff)         | no       | repair: hidden tests applied on the patch before grading |
| hidden_fail_to_pass, hidden_pass_to_pass | list of str | no | repair: the test ids grading requires (else the visible ones) |
| metadata           | object                | no       | anything else (source, difficulty, repo, test_command) |

A test given as one string is split into snippets, one per top-level assert (see
`ponder.testrun.split_tests`). Unknown fields are errors, so a typo cannot silently drop data.
Every error names the file, the line (or item) and the field.

Only `grade()` reads the hidden part, after the search ends; agents and verifiers get
`Task.view()`, a `VisibleTask` that has no field able to carry hidden data.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ponder.errors import ConfigError, TaskFormatError
from ponder.testrun import split_tests

if TYPE_CHECKING:
    from ponder.sandbox.base import Sandbox

TaskKind = str  # "code", "math", "repair", or a plug-in kind (see ponder.kinds)


class Repository(BaseModel):
    """The repository of a repair task, as agents may see it: where it is, how its tests run,
    and which test ids must pass (FAIL_TO_PASS) and keep passing (PASS_TO_PASS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dir: str | None = None  # a local checkout at the base commit
    url: str | None = None
    base_commit: str | None = None
    test_cmd: str = Field(min_length=1)
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    setup_patch: str = ""  # applied before any candidate (e.g. SWE-bench tests made visible)

    def protected_files(self) -> set[str]:
        """Test files named by the test ids: a candidate may not edit them."""
        return {tid.split("::", 1)[0] for tid in self.fail_to_pass + self.pass_to_pass}


class VisibleTask(BaseModel):
    """What agents and verifiers see. Never holds hidden tests or reference answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: TaskKind
    prompt: str
    entry_point: str | None = None
    public_tests: list[str] = Field(default_factory=list)
    repository: Repository | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class HiddenPart(BaseModel):
    """What only grading sees, after the search. Repair tasks: `test_patch` is applied on top
    of the candidate patch before grading (SWE-bench's test_patch, a scenario's hidden tests),
    and the hidden test ids replace the visible ones; `reference_solution` is a known fix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_tests: list[str] = Field(default_factory=list)
    reference_answer: str | None = None
    reference_solution: str | None = None
    test_patch: str = ""
    hidden_fail_to_pass: list[str] = Field(default_factory=list)
    hidden_pass_to_pass: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return (
            not self.hidden_tests
            and self.reference_answer is None
            and not self.test_patch
            and not self.hidden_fail_to_pass
        )


class Task(BaseModel):
    """A task: the visible part plus the hidden part."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    visible: VisibleTask
    hidden: HiddenPart = Field(default_factory=HiddenPart)

    @property
    def id(self) -> str:
        return self.visible.id

    @property
    def kind(self) -> TaskKind:
        return self.visible.kind

    def view(self) -> VisibleTask:
        """The visible-only view handed to agents and verifiers."""
        return self.visible


class Grade(BaseModel):
    """The hidden-test grade of a solution. `graded` is False when the task has no hidden part."""

    correct: bool
    graded: bool = True
    details: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- the file format


class TaskRecord(BaseModel):
    """One entry of a task file, as written on disk."""

    model_config = ConfigDict(extra="forbid")

    kind: TaskKind = Field(min_length=1)
    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    entry_point: str | None = None
    public_tests: list[str] = Field(default_factory=list)
    repository: Repository | None = None
    hidden_tests: list[str] = Field(default_factory=list)
    answer: str | None = None
    reference_solution: str | None = None
    test_patch: str = ""
    hidden_fail_to_pass: list[str] = Field(default_factory=list)
    hidden_pass_to_pass: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from ponder.kinds import known_kinds

        if value not in known_kinds():
            raise ValueError(f"unknown task kind {value!r} (known: {', '.join(known_kinds())})")
        return value

    @field_validator("public_tests", "hidden_tests", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_tests(value) if isinstance(value, str) else value

    @field_validator("answer", mode="before")
    @classmethod
    def _answer_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        return str(value) if isinstance(value, int | float) else value

    def to_task(self) -> Task:
        hidden = HiddenPart(
            hidden_tests=self.hidden_tests,
            reference_answer=self.answer,
            reference_solution=self.reference_solution,
            test_patch=self.test_patch,
            hidden_fail_to_pass=self.hidden_fail_to_pass,
            hidden_pass_to_pass=self.hidden_pass_to_pass,
        )
        return Task(visible=VisibleTask(**_visible_fields(self)), hidden=hidden)

    @classmethod
    def from_task(cls, task: Task) -> TaskRecord:
        h = task.hidden
        return cls(
            **_visible_fields(task.visible),
            hidden_tests=h.hidden_tests,
            answer=h.reference_answer,
            reference_solution=h.reference_solution,
            test_patch=h.test_patch,
            hidden_fail_to_pass=h.hidden_fail_to_pass,
            hidden_pass_to_pass=h.hidden_pass_to_pass,
        )


def _visible_fields(source: VisibleTask | TaskRecord) -> dict[str, Any]:
    """The fields a record shares with the visible part, by name (`id`, `kind`, `prompt`, ...)."""
    return {name: getattr(source, name) for name in VisibleTask.model_fields}


def task_to_record(task: Task) -> dict[str, Any]:
    """The JSON object for one line of a task file (inverse of the loader)."""
    return TaskRecord.from_task(task).model_dump(exclude_defaults=True)


def save_tasks(tasks: list[Task], path: str | Path) -> Path:
    """Write tasks as a JSONL task file."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as fh:
        for task in tasks:
            fh.write(json.dumps(task_to_record(task), ensure_ascii=False) + "\n")
    return path


def record_error(
    where: str, exc: ValidationError, model: type[BaseModel], fix: str
) -> TaskFormatError:
    """The first problem of `exc` (validating `model`) as a TaskFormatError naming `where`, the
    field and the problem in words (an unknown field lists the allowed ones)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(object)"
    detail = first["msg"]
    if first["type"] == "extra_forbidden":
        detail = f"unknown field (allowed: {', '.join(model.model_fields)})"
    elif first["type"] == "missing":
        detail = "required field is missing"
    more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return TaskFormatError(f"{where}: field '{field}': {detail}{more}", fix=fix)


def _parse_record(path: Path, where: str, obj: Any) -> Task:
    if not isinstance(obj, dict):
        raise TaskFormatError(
            f"{path}: {where}: expected a JSON object, got {type(obj).__name__}",
            fix="write one task object per line",
        )
    try:
        return TaskRecord.model_validate(obj).to_task()
    except ValidationError as exc:
        fix = "see the task file schema in docs/tasks.md (or `ponder.task` docstring)"
        raise record_error(f"{path}: {where}", exc, TaskRecord, fix) from None
    except SyntaxError as exc:
        raise TaskFormatError(
            f"{path}: {where}: a tests field is not valid Python ({exc.msg}, line {exc.lineno})",
            fix="give tests as a list of assert statements or as valid Python source",
        ) from None


def read_entries(path: Path, text: str) -> list[tuple[str, Any]]:
    """The JSON objects of a .json (one object or a list) or .jsonl file, each with where it
    sits ("line N", "item N") for error messages; invalid JSON names the file and line."""
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TaskFormatError(
                f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})", fix="fix the JSON syntax"
            ) from None
        items = data if isinstance(data, list) else [data]
        return [(f"item {i + 1}", obj) for i, obj in enumerate(items)]
    entries = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entries.append((f"line {lineno}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise TaskFormatError(
                f"{path}: line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})",
                fix="each line of a .jsonl task file must be one complete JSON object",
            ) from None
    return entries


def load_tasks(path: str | Path) -> list[Task]:
    """Load a .jsonl (or .json) task file; errors name the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise TaskFormatError(
            f"task file {path} does not exist", fix="pass the path of a .jsonl task file"
        )
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for where, obj in read_entries(path, path.read_text(encoding="utf-8")):
        task = _parse_record(path, where, obj)
        if task.id in seen:
            raise TaskFormatError(
                f"{path}: {where}: field 'id': duplicate id {task.id!r} (first at {seen[task.id]})",
                fix="give every task a unique id",
            )
        seen[task.id] = where
        tasks.append(task)
    if not tasks:
        raise TaskFormatError(
            f"task file {path} holds no tasks", fix="add one JSON object per line"
        )
    return tasks


def load_task(path: str | Path, task_id: str | None = None) -> Task:
    """One task from a file: the one with `task_id`, or the only one."""
    tasks = load_tasks(path)
    if task_id is None:
        if len(tasks) > 1:
            raise ConfigError(
                f"task file {path} holds {len(tasks)} tasks; which one?",
                fix=f"name one, e.g. {path}#{tasks[0].id}",
            )
        return tasks[0]
    for task in tasks:
        if task.id == task_id:
            return task
    known = ", ".join(t.id for t in tasks[:10])
    raise ConfigError(f"no task {task_id!r} in {path}", fix=f"use one of: {known}")


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def task_from_prompt(
    prompt: str,
    tests_file: str | Path | None = None,
    *,
    kind: TaskKind = "code",
    entry_point: str | None = None,
    task_id: str | None = None,
) -> Task:
    """A task from `--prompt TEXT --tests FILE`: the tests are public; there is no hidden part.

    The entry point is the given one, else the only `def` in the prompt, else None.
    """
    if not prompt.strip():
        raise ConfigError("the prompt is empty", fix="pass the problem text with --prompt")
    public: list[str] = []
    if tests_file is not None:
        path = Path(tests_file)
        if not path.is_file():
            raise ConfigError(
                f"tests file {path} does not exist", fix="pass a Python file of asserts"
            )
        try:
            public = split_tests(path.read_text(encoding="utf-8"))
        except SyntaxError as exc:
            raise TaskFormatError(
                f"{path}: line {exc.lineno}: not valid Python ({exc.msg})",
                fix="the tests file must be Python source with assert statements",
            ) from None
    if entry_point is None and kind == "code":
        names = _DEF.findall(prompt)
        entry_point = names[0] if len(set(names)) == 1 else None
    digest = hashlib.sha1((prompt + "\0" + "".join(public)).encode()).hexdigest()[:10]
    visible = VisibleTask(
        id=task_id or f"prompt-{digest}",
        kind=kind,
        prompt=prompt,
        entry_point=entry_point,
        public_tests=public,
    )
    return Task(visible=visible)


# ---------------------------------------------------------------- grading (hidden part)


async def grade(task: Task, solution: str, sandbox: Sandbox | None = None) -> Grade:
    """Grade a final solution against the hidden part (by its kind). Call only after the
    search ended."""
    from ponder.kinds import grade as grade_by_kind

    return await grade_by_kind(task, solution, sandbox)
