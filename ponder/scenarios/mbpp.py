"""MBPP (test split, tasks 11-510): public = the first listed test; hidden = all plus challenge tests."""

from __future__ import annotations

import ast
import warnings
from functools import cached_property

from ponder.errors import TaskFormatError
from ponder.sandbox.base import Sandbox
from ponder.scenarios.base import Scenario
from ponder.scenarios.evalplus import (
    PlusTests,
    argument_shapes,
    grade_with_plus,
    plus_tests,
    read_evalplus,
)
from ponder.scenarios.paths import data_file, optional_data_file
from ponder.scenarios.sources import load_hf, read_jsonl
from ponder.task import Grade, HiddenPart, Task, VisibleTask, grade

HF_NAME = "google-research-datasets/mbpp"
LOCAL_FILE = "mbpp/mbpp.jsonl"
EVALPLUS_FILE = "evalplus/MbppPlus-v0.2.0.jsonl"
SPLITS = {"test": range(11, 511), "prompt": range(1, 11), "validation": range(511, 601),
          "train": range(601, 975), "all": range(1, 975)}  # fmt: skip


def entry_point(record: dict) -> str:
    """The function the first test calls that the reference code defines."""
    with warnings.catch_warnings():  # old reference code has invalid escapes like "\w"
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        code = ast.parse(record["code"])
    defined = {n.name for n in ast.walk(code) if isinstance(n, ast.FunctionDef)}
    calls = [
        n.func.id
        for n in ast.walk(ast.parse(record["test_list"][0]))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    ]
    for name in calls:
        if name in defined:
            return name
    if calls:
        return calls[0]
    raise TaskFormatError(
        f"MBPP task {record['task_id']}: field 'test_list': the first test calls no function",
        fix="check the MBPP data file against SOURCES.md",
    )


def mbpp_task(record: dict) -> Task:
    """One MBPP record as a Task (stable id `mbpp/N`)."""
    setup = (record.get("test_setup_code") or "").strip()
    prefix = setup + "\n" if setup else ""
    tests = list(record["test_list"]) + list(record.get("challenge_test_list") or [])
    first = record["test_list"][0]
    visible = VisibleTask(
        id=f"mbpp/{record['task_id']}",
        kind="code",
        prompt=f"{record['text']}\nYour code should pass this test:\n{first}\n",
        entry_point=entry_point(record),
        public_tests=[prefix + first + "\n"],
        metadata={"scenario": "mbpp"},
    )
    hidden = HiddenPart(
        hidden_tests=[prefix + tests[0] + "\n", *(t + "\n" for t in tests[1:])],
        reference_solution=record["code"].replace("\r\n", "\n"),
    )
    return Task(visible=visible, hidden=hidden)


class MbppScenario(Scenario):
    """MBPP; grades report `base` and, for the 378 MBPP+ tasks where the file is present, `plus`.

    With `strict` (the `mbpp+` scenario) only MBPP+ tasks are loaded and a solution must pass both.
    """

    name = "mbpp"
    description = "MBPP test split (500 tasks, ids mbpp/11..mbpp/510); MBPP+ tests where present"

    def __init__(self, source: str | None = None, split: str = "test", strict: bool = False) -> None:
        super().__init__(source)
        self.split, self.strict = split, strict
        if strict:
            self.name = "mbpp+"

    def _records(self) -> list[dict]:
        if self.source is not None:
            return load_hf(self.source, split=self.split, config="full")
        return read_jsonl(data_file(LOCAL_FILE, hf_name=HF_NAME))

    def load(self) -> list[Task]:
        records = self._records()
        if self.strict:
            keep = {int(tid.split("/")[1]) for tid in self._plus_records}
            records = [r for r in records if r["task_id"] in keep]
        elif self.source is None:
            records = [r for r in records if r["task_id"] in SPLITS[self.split]]
        return [mbpp_task(r) for r in records]

    @cached_property
    def _plus_records(self) -> dict[str, dict]:
        return read_evalplus(optional_data_file(EVALPLUS_FILE))

    def plus_for(self, task: Task) -> PlusTests | None:
        """The MBPP+ tests of a task (None when it is not an MBPP+ task or the file is absent)."""
        rec = self._plus_records.get("Mbpp/" + task.id.split("/", 1)[1])
        if rec is None:
            return None
        shapes = argument_shapes(rec["assertion"], rec["entry_point"])
        return plus_tests(rec, rec["canonical_solution"], shapes)

    async def grade(
        self, task: Task, solution: str, sandbox: Sandbox | None, base: Grade | None = None
    ) -> Grade:
        base = base if base is not None else await grade(task, solution, sandbox)
        return await grade_with_plus(base, self.plus_for(task), solution, sandbox, self.strict)
