"""MATH-500 (the PRM800K test split of MATH): graded by math-verify against the `answer` field."""

from __future__ import annotations

from ponder.scenarios.base import Scenario
from ponder.scenarios.paths import data_file
from ponder.scenarios.sources import load_hf, read_jsonl
from ponder.task import HiddenPart, Task, VisibleTask

HF_NAME = "HuggingFaceH4/MATH-500"
LOCAL_FILE = "math500/test.jsonl"


def math500_task(index: int, record: dict) -> Task:
    """One MATH-500 record as a math Task (stable id `math500/INDEX`; unique_id in metadata)."""
    visible = VisibleTask(
        id=f"math500/{index}",
        kind="math",
        prompt=record["problem"],
        metadata={
            "scenario": "math500",
            "unique_id": record.get("unique_id"),
            "subject": record.get("subject"),
            "level": record.get("level"),
        },
    )
    hidden = HiddenPart(
        reference_answer=str(record["answer"]), reference_solution=record.get("solution")
    )
    return Task(visible=visible, hidden=hidden)


class Math500Scenario(Scenario):
    """MATH-500, 500 competition problems in 7 subjects and 5 levels."""

    name = "math500"
    description = "MATH-500, the 500-problem test split of MATH used by PRM800K"

    def load(self) -> list[Task]:
        if self.source is not None:
            records = load_hf(self.source, split="test")
        else:
            records = read_jsonl(data_file(LOCAL_FILE, hf_name=HF_NAME))
        return [math500_task(i, r) for i, r in enumerate(records)]
