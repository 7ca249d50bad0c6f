"""MBPP (test split, tasks 11-510) and MBPP+ (EvalPlus): public = the first test; hidden = all."""

from __future__ import annotations

import ast
import warnings
from functools import cached_property

from ponder.errors import ConfigError, TaskFormatError
from ponder.sandbox.base import Sandbox
from ponder.scenarios.base import Scenario
from ponder.scenarios.evalplus import (
    PlusTests,
    argument_shapes,
    grade_with_plus,
    plus_tests,
    read_evalplus,
)
from ponder.scenarios.paths import data_file
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


def mbpp_plus_task(record: dict) -> Task:
    """One MBPP+ record as a Task (id `Mbpp/N` as in EvalPlus; its own prompt, names and tests)."""
    prompt = record["prompt"].strip().strip('"').strip() + "\n"
    shown = [line + "\n" for line in prompt.splitlines() if line.startswith("assert ")]
    listed = [line + "\n" for line in record["assertion"].strip().splitlines() if line.strip()]
    # MBPP+ asserts call math.isclose without importing math
    asserts = ["import math\n" + a for a in dict.fromkeys(shown + listed)]
    visible = VisibleTask(
        id=record["task_id"],
        kind="code",
        prompt=prompt,
        entry_point=record["entry_point"],
        public_tests=asserts[:1],
        metadata={"scenario": "mbpp+"},
    )
    hidden = HiddenPart(hidden_tests=asserts, reference_solution=record["canonical_solution"])
    return Task(visible=visible, hidden=hidden)


PLUS_BASE_ONLY = frozenset({"Mbpp/124", "Mbpp/252", "Mbpp/580", "Mbpp/255", "Mbpp/599"})
"""MBPP+ tasks graded on base tests only: 124, 252 and 580 need EvalPlus's own input decoding
(complex numbers, nested tuples); on 255 and 599 re-running the reference on every plus input
takes longer than the 240 s limit (EvalPlus ships precomputed outputs instead)."""


class MbppScenario(Scenario):
    """MBPP, test split (tasks 11-510): public = the first test, hidden = all plus challenge tests."""

    name = "mbpp"
    description = "MBPP test split (500 tasks, ids mbpp/11..mbpp/510)"

    def __init__(self, source: str | None = None, split: str = "test") -> None:
        super().__init__(source)
        if split not in SPLITS:
            raise ConfigError(
                f"unknown MBPP split {split!r}", fix=f"use one of: {', '.join(SPLITS)}"
            )
        self.split = split

    def _records(self) -> list[dict]:
        if self.source is not None:
            return load_hf(self.source, split=self.split, config="full")
        records = read_jsonl(data_file(LOCAL_FILE, hf_name=HF_NAME))
        return [r for r in records if r["task_id"] in SPLITS[self.split]]

    def load(self) -> list[Task]:
        return [mbpp_task(r) for r in self._records()]


class MbppPlusScenario(Scenario):
    """MBPP+ v0.2.0 (378 tasks): EvalPlus's cleaned prompts and base tests plus its extra inputs.

    A solution is correct when it passes both; grade details report `base` and `plus`.
    """

    name = "mbpp+"
    description = "MBPP+ (EvalPlus v0.2.0), 378 tasks with many extra test inputs"

    @cached_property
    def _plus_records(self) -> dict[str, dict]:
        return read_evalplus(data_file(EVALPLUS_FILE))

    def load(self) -> list[Task]:
        return [mbpp_plus_task(r) for r in self._plus_records.values()]

    def plus_for(self, task: Task) -> PlusTests | None:
        """The extra-input test of a task (None where its inputs need special decoding)."""
        rec = self._plus_records.get(task.id)
        if rec is None or task.id in PLUS_BASE_ONLY:
            return None
        shapes = argument_shapes(rec["assertion"], rec["entry_point"])
        return plus_tests(rec, rec["canonical_solution"], shapes)

    async def grade(
        self, task: Task, solution: str, sandbox: Sandbox | None, base: Grade | None = None
    ) -> Grade:
        base = base if base is not None else await grade(task, solution, sandbox)
        plus = self.plus_for(task)
        if plus is None:  # base only, said so in the details
            return Grade(
                correct=base.correct,
                graded=base.graded,
                details={"base": base.correct, "plus": None} | base.details,
            )
        return await grade_with_plus(base, plus, solution, sandbox, strict=True, memo=self._memo)
