"""The PRM dataset: one JSON line per sampled solution, with Monte-Carlo step labels."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ponder.errors import TaskFormatError


@dataclass
class StepRecord:
    """One solution of one task, its steps and their labels.

    `values[k]`: fraction of rollouts from after step k+1 that reach a correct answer (the
    last step's value is the solution's own outcome). `prior`: the value before any step
    (the task's share of correct samples). `progress[k]` = values[k] - (values[k-1] or prior),
    "Rewarding Progress"'s advantage. `labels[k]`: values[k] > 0 (Math-Shepherd's hard label).
    """

    task_id: str
    prompt: str
    sample: int
    steps: list[str]
    values: list[float]
    correct: bool
    answer: str | None = None
    prior: float | None = None
    rollouts: int = 0
    text: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[bool]:
        return [v > 0 for v in self.values]

    @property
    def progress(self) -> list[float]:
        before = [self.prior if self.prior is not None else self.values[0], *self.values[:-1]]
        return [v - b for v, b in zip(self.values, before, strict=True)]

    def to_json(self) -> dict:
        return asdict(self) | {"labels": self.labels, "progress": self.progress}


_FIELDS = set(StepRecord.__dataclass_fields__)


def read_records(path: str | Path) -> list[StepRecord]:
    """Load a JSONL written by `ponder prm collect`; errors name the file, line and field."""
    p = Path(path)
    if not p.is_file():
        raise TaskFormatError(
            f"PRM dataset {p} does not exist", fix="run `ponder prm collect` first"
        )
    records = []
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rec = StepRecord(**{k: v for k, v in obj.items() if k in _FIELDS})
        except (json.JSONDecodeError, TypeError) as exc:
            raise TaskFormatError(
                f"{p}: line {lineno}: not a PRM record ({exc})",
                fix="use a file written by `ponder prm collect` (fields task_id, prompt, steps, values, correct)",
            ) from None
        if len(rec.values) != len(rec.steps) or not rec.steps:
            raise TaskFormatError(
                f"{p}: line {lineno}: field 'values' has {len(rec.values)} entries for {len(rec.steps)} steps",
                fix="give one value per step",
            )
        records.append(rec)
    return records


def append_records(path: str | Path, records: Iterable[StepRecord]) -> None:
    with Path(path).open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")


def by_task(records: Iterable[StepRecord]) -> dict[str, list[StepRecord]]:
    groups: dict[str, list[StepRecord]] = {}
    for rec in records:
        groups.setdefault(rec.task_id, []).append(rec)
    return groups
