"""results.jsonl (one line per finished cell): the schema, resumable appends, and summary.csv."""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import ConfigError

RESULTS = "results.jsonl"
SUMMARY = "summary.csv"
MANIFEST = "bench.json"

CellKey = tuple[str, str, int]  # (task_id, strategy, budget)


class CellResult(BaseModel):
    """One (task, strategy, budget) cell.

    `correct` is the realized outcome (the answer this strategy would have returned);
    `score` is its expected correctness: equal to `correct` for a run (`source` "run"),
    the resampled BoN@k / vote@k, or the unbiased pass@k, for cells derived from a pool
    (`source` "pool"). Accuracy tables average `score`.
    """

    model_config = ConfigDict(extra="ignore")

    scenario: str
    task_id: str
    strategy: str
    budget: int = Field(ge=1)
    budget_tokens: int | None = None  # completion-token limit given to the run (None: pool)
    budget_limits: dict[str, float | None] = Field(default_factory=dict)  # Budget.limits()
    spent: dict[str, float] = Field(default_factory=dict)  # Spend.to_dict() of the run
    correct: bool
    score: float
    grade: dict[str, Any] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    sandbox_runs: int = 0
    wall_s: float = 0.0
    seed: int = 0
    source: Literal["run", "pool"] = "run"
    pool_size: int | None = None
    run_dir: str | None = None
    error: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    # ponder.provenance.Provenance as a dict: commit, dirty, model, model_sha256, sandbox, engine
    provenance: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> CellKey:
        return (self.task_id, self.strategy, self.budget)

    @property
    def over_budget(self) -> int:
        """Completion tokens spent beyond the run's token limit (0 within it, or for pools)."""
        if self.budget_tokens is None or self.source != "run":
            return 0
        return max(0, self.completion_tokens - self.budget_tokens)

    @property
    def over_by_more_than_one_call(self) -> bool:
        """Over its limit by more than its largest call: the budget did not hold.

        A run may finish the call it started inside the budget, so one call's worth of
        overshoot is allowed; rows written before `spent` was recorded allow none.
        """
        return self.over_budget > self.spent.get("largest_call_tokens", 0)


def append_line(path: Path, text: str) -> None:
    """Append one line; a torn last line (a killed writer) is first ended with a newline."""
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(text.encode("utf-8") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


class ResultsStore:
    """The append-only results file of a bench directory."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir)
        self.path = self.dir / RESULTS

    def append(self, row: CellResult) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        append_line(self.path, row.model_dump_json())

    def rows(self) -> list[CellResult]:
        """Every readable line, in order; a line torn by a kill is skipped."""
        if not self.path.is_file():
            return []
        out = []
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    out.append(CellResult.model_validate_json(line))
                except ValidationError:
                    continue
        return out

    def latest(self) -> dict[CellKey, CellResult]:
        """The final row of each cell: a successful row wins over an errored one."""
        best: dict[CellKey, CellResult] = {}
        for row in self.rows():
            old = best.get(row.key)
            if old is None or old.error is not None or row.error is None:
                best[row.key] = row
        return best

    def done(self) -> set[CellKey]:
        """Cells finished without error (skipped on resume)."""
        return {k for k, r in self.latest().items() if r.error is None}


def load_results(out_dir: str | Path) -> list[CellResult]:
    """The latest row of each cell of a bench directory, or a ConfigError if there is none."""
    store = ResultsStore(out_dir)
    if not store.path.is_file():
        raise ConfigError(
            f"{store.path} does not exist",
            fix="pass a directory written by `ponder bench --out DIR`",
        )
    return list(store.latest().values())


@dataclass(frozen=True)
class SummaryRow:
    """Accuracy and mean compute of one (strategy, budget) over the tasks it ran on."""

    strategy: str
    budget: int
    tasks: int
    accuracy: float
    correct: int
    completion_tokens: float
    prompt_tokens: float
    llm_calls: float
    sandbox_runs: float
    wall_s: float
    errors: int


def summarize(rows: list[CellResult]) -> list[SummaryRow]:
    """One SummaryRow per (strategy, budget): greedy first, then by strategy and budget."""
    groups: dict[tuple[str, int], list[CellResult]] = defaultdict(list)
    for row in rows:
        groups[(row.strategy, row.budget)].append(row)
    out = []
    for (strategy, budget), cells in sorted(
        groups.items(), key=lambda g: (g[0][0] != "greedy", g[0])
    ):
        n = len(cells)

        def mean(attr: str, cells: list[CellResult] = cells, n: int = n) -> float:
            return sum(getattr(c, attr) for c in cells) / n

        out.append(SummaryRow(
            strategy=strategy, budget=budget, tasks=n, accuracy=mean("score"),
            correct=sum(c.correct for c in cells), completion_tokens=mean("completion_tokens"),
            prompt_tokens=mean("prompt_tokens"), llm_calls=mean("llm_calls"),
            sandbox_runs=mean("sandbox_runs"), wall_s=mean("wall_s"),
            errors=sum(c.error is not None for c in cells),
        ))  # fmt: skip
    return out


def write_summary_csv(rows: list[SummaryRow], path: str | Path) -> Path:
    """summary.csv: one line per (strategy, budget)."""
    path = Path(path)
    fields = list(SummaryRow.__dataclass_fields__)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({f: _fmt(getattr(row, f)) for f in fields})
    return path


def _fmt(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    path = Path(out_dir) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
