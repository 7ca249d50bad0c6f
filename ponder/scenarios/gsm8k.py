"""GSM8K test set (1319 grade-school word problems): the reference answer follows `####`."""

from __future__ import annotations

from ponder.errors import TaskFormatError
from ponder.scenarios.base import Scenario
from ponder.scenarios.paths import data_file
from ponder.scenarios.sources import load_hf, read_jsonl
from ponder.task import HiddenPart, Task, VisibleTask

HF_NAME = "openai/gsm8k"
LOCAL_FILE = "gsm8k/test.jsonl"


def final_answer(solution: str, where: str) -> str:
    """The number after `####` in a GSM8K solution, without thousands separators."""
    if "####" not in solution:
        raise TaskFormatError(
            f"{where}: field 'answer': no '####' marker", fix="use the GSM8K test file"
        )
    return solution.rsplit("####", 1)[1].strip().replace(",", "")


def gsm8k_task(index: int, record: dict) -> Task:
    """One GSM8K record as a math Task (stable id `gsm8k/INDEX`, 0-based line order)."""
    task_id = f"gsm8k/{index}"
    visible = VisibleTask(
        id=task_id, kind="math", prompt=record["question"], metadata={"scenario": "gsm8k"}
    )
    hidden = HiddenPart(
        reference_answer=final_answer(record["answer"], task_id),
        reference_solution=record["answer"],
    )
    return Task(visible=visible, hidden=hidden)


class Gsm8kScenario(Scenario):
    """GSM8K test split, graded by math-verify on the final number."""

    name = "gsm8k"
    description = "GSM8K test split, 1319 grade-school math word problems (OpenAI)"

    def load(self) -> list[Task]:
        if self.source is not None:
            records = load_hf(self.source, split="test", config="main")
        else:
            records = read_jsonl(data_file(LOCAL_FILE, hf_name=HF_NAME))
        return [gsm8k_task(i, r) for i, r in enumerate(records)]
