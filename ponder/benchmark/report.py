"""Rebuild a bench's tables and plots from results.jsonl, and compare two benches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from ponder.benchmark.results import (  # noqa: E402
    SUMMARY,
    CellResult,
    SummaryRow,
    load_results,
    read_manifest,
    summarize,
    write_summary_csv,
)

TABLE = "results.md"
ACCURACY_PLOT = "accuracy_vs_tokens.png"
PASS_AT_K_PLOT = "pass_at_k.png"


@dataclass
class Report:
    """The files a report wrote and the summary they show."""

    out_dir: Path
    summary: list[SummaryRow]
    table: str
    files: list[Path]


def markdown_table(summary: list[SummaryRow], title: str = "") -> str:
    """Accuracy and mean compute per (strategy, budget) as a markdown table."""
    head = ("| strategy | budget | tasks | accuracy | correct | completion tokens | prompt tokens "
            "| LLM calls | sandbox runs | wall s | errors |")  # fmt: skip
    lines = [f"### {title}\n" if title else "", head, "|" + "---|" * 11]
    for r in summary:
        lines.append(
            f"| {r.strategy} | {r.budget} | {r.tasks} | {100 * r.accuracy:.1f}% | {r.correct} "
            f"| {r.completion_tokens:.0f} | {r.prompt_tokens:.0f} | {r.llm_calls:.1f} "
            f"| {r.sandbox_runs:.1f} | {r.wall_s:.1f} | {r.errors} |"
        )
    return "\n".join(line for line in lines if line) + "\n"


def budget_table(summary: list[SummaryRow], title: str = "") -> str:
    """Accuracy against budget: a row per strategy, a column per budget, each cell its
    accuracy and mean completion tokens (the shape of an inference-time scaling table)."""
    budgets = sorted({r.budget for r in summary})
    cells: dict[str, dict[int, SummaryRow]] = {}
    for r in summary:
        cells.setdefault(r.strategy, {})[r.budget] = r
    lines = [f"### {title}\n" if title else "",
             "| strategy | " + " | ".join(f"budget {b}" for b in budgets) + " |",
             "|" + "---|" * (len(budgets) + 1)]  # fmt: skip
    for strategy, by_budget in cells.items():
        name = "pass_at_k (oracle)" if strategy == "pass_at_k" else strategy
        row = [
            f"{100 * by_budget[b].accuracy:.1f}% ({by_budget[b].completion_tokens:,.0f})"
            if b in by_budget
            else ""
            for b in budgets
        ]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(line for line in lines if line) + "\n"


def provenance_lines(rows: list[CellResult]) -> list[str]:
    """Where the rows came from: one line per distinct provenance, with its row count."""
    from ponder.provenance import Provenance

    counts: dict[str, int] = {}
    for row in rows:
        line = (
            Provenance.model_validate(row.provenance).short()
            if row.provenance
            else "not recorded (rows written before provenance was recorded)"
        )
        counts[line] = counts.get(line, 0) + 1
    return [f"{n} rows: {line}" for line, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def budget_lines(rows: list[CellResult]) -> list[str]:
    """Every cell that spent more completion tokens than its limit, worst first.

    Finishing the call that started inside the budget may overshoot by up to that call's
    tokens; more than that means the budget did not hold.
    """
    over = sorted((r for r in rows if r.over_budget), key=lambda r: -r.over_budget)
    return [
        f"{'OVER BUDGET' if r.over_by_more_than_one_call else 'over by its last call'}: "
        f"{r.task_id} {r.strategy}@{r.budget}: {r.completion_tokens} completion tokens against "
        f"a limit of {r.budget_tokens} (+{r.over_budget}, largest call "
        f"{r.spent.get('largest_call_tokens', 'not recorded')})"
        for r in over
    ]


def complete_tasks(rows: list[CellResult]) -> set[str]:
    """Tasks that have a row for every (strategy, budget) cell any task has: the tasks a
    partial bench can compare strategies on."""
    cells = {(r.strategy, r.budget) for r in rows}
    have: dict[str, set[tuple[str, int]]] = {}
    for r in rows:
        have.setdefault(r.task_id, set()).add((r.strategy, r.budget))
    return {task for task, mine in have.items() if mine == cells}


def failure_lines(rows: list[CellResult]) -> list[str]:
    """For each strategy and budget, its failed tasks split by whether the task's sample
    pool held a correct sample (one was drawn but not picked) or not (none was drawn)."""
    pooled = {r.task_id: r.grade.get("pool_correct") for r in rows if r.source == "pool"}
    lines = []
    for cell in sorted({(r.strategy, r.budget) for r in rows if r.strategy != "pass_at_k"}):
        failed = [r.task_id for r in rows if (r.strategy, r.budget) == cell and not r.correct]
        known = [t for t in failed if pooled.get(t) is not None]
        if not known:
            continue
        missed = sum(pooled[t] > 0 for t in known)
        lines.append(
            f"{cell[0]}@{cell[1]}: {len(failed)} failed; the pool held a correct sample for "
            f"{missed} of them (not picked), none for {len(known) - missed} (not drawn)"
        )
    return lines


def _by_strategy(summary: list[SummaryRow]) -> dict[str, list[SummaryRow]]:
    out: dict[str, list[SummaryRow]] = {}
    for row in summary:
        out.setdefault(row.strategy, []).append(row)
    return out


def _save(fig: plt.Figure, ax: plt.Axes, title: str, path: Path) -> Path:
    """Finish an accuracy plot (y label, title, grid, legend), write it to `path` and close it."""
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_accuracy_vs_tokens(summary: list[SummaryRow], path: Path, title: str) -> Path:
    """Accuracy against mean generated tokens per task, one line per strategy, log x axis."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for strategy, rows in _by_strategy(summary).items():
        if strategy == "pass_at_k":
            continue  # an oracle, not a strategy; it has its own plot
        xs = [max(r.completion_tokens, 1.0) for r in rows]
        style = {"marker": "*", "markersize": 14, "zorder": 5} if strategy == "greedy" else {}
        ax.plot(xs, [100 * r.accuracy for r in rows], **({"marker": "o"} | style), label=strategy)
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per task (mean, log scale)")
    return _save(fig, ax, title, path)


def plot_pass_at_k(summary: list[SummaryRow], path: Path, title: str) -> Path | None:
    """pass@k (unbiased) and the selection@k of pool strategies against k."""
    pooled = {s: rows for s, rows in _by_strategy(summary).items()
              if s in ("pass_at_k", "best_of_n", "self_consistency")}  # fmt: skip
    if not pooled:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for strategy, rows in pooled.items():
        label = "pass@k" if strategy == "pass_at_k" else f"{strategy}@k"
        ax.plot([r.budget for r in rows], [100 * r.accuracy for r in rows], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples)")
    return _save(fig, ax, title, path)


def _title(out_dir: Path, rows: list[CellResult]) -> str:
    manifest = read_manifest(out_dir) or {}
    scenario = manifest.get("scenario") or (rows[0].scenario if rows else "")
    model = manifest.get("model") or ""
    tasks = len({r.task_id for r in rows})
    return f"{scenario}, {tasks} tasks" + (f", model {model}" if model else "")


def build_report(out_dir: str | Path) -> Report:
    """Write summary.csv, results.md and the plots of a bench directory from results.jsonl."""
    out = Path(out_dir)
    rows = load_results(out)
    summary = summarize(rows)
    title = _title(out, rows)
    table = markdown_table(summary, title)
    whole = complete_tasks(rows)
    compared, which = rows, "all"  # the rows strategies are compared on
    if len({r.task_id for r in rows}) > len(whole) > 0:
        compared, which = [r for r in rows if r.task_id in whole], "the paired"
        table += "\n" + markdown_table(
            summarize(compared), f"The {len(whole)} tasks with every cell (paired)"
        )
    if len({r.budget for r in rows}) > 1:
        tasks = len({r.task_id for r in compared})
        table += "\n" + budget_table(
            summarize(compared),
            f"Accuracy by budget on {which} {tasks} tasks (mean completion tokens)",
        )
    failures = failure_lines(compared)
    if failures:
        table += "\nWhere failures come from:\n\n" + "".join(f"- {x}\n" for x in failures)
    notes = budget_lines(rows) or ["every cell stayed within its token budget"]
    table += "\nProvenance:\n\n" + "".join(f"- {line}\n" for line in provenance_lines(rows))
    table += "\nBudgets:\n\n" + "".join(f"- {line}\n" for line in notes)
    (out / TABLE).write_text(table, encoding="utf-8")
    files = [write_summary_csv(summary, out / SUMMARY), out / TABLE,
             plot_accuracy_vs_tokens(summary, out / ACCURACY_PLOT, title)]  # fmt: skip
    extra = plot_pass_at_k(summary, out / PASS_AT_K_PLOT, title)
    if extra is not None:
        files.append(extra)
    return Report(out, summary, table, files)


@dataclass(frozen=True)
class Difference:
    """One (strategy, budget) in two benches; None where a bench lacks it."""

    strategy: str
    budget: int
    accuracy_a: float | None
    accuracy_b: float | None
    tokens_a: float | None
    tokens_b: float | None
    flipped: int  # tasks whose realized outcome differs (among tasks both ran)

    @property
    def delta(self) -> float | None:
        if self.accuracy_a is None or self.accuracy_b is None:
            return None
        return self.accuracy_b - self.accuracy_a


def compare(dir_a: str | Path, dir_b: str | Path) -> list[Difference]:
    """Accuracy and tokens per (strategy, budget) in bench A against bench B."""
    rows_a, rows_b = load_results(dir_a), load_results(dir_b)
    sa = {(r.strategy, r.budget): r for r in summarize(rows_a)}
    sb = {(r.strategy, r.budget): r for r in summarize(rows_b)}
    cells_a = {r.key: r.correct for r in rows_a}
    cells_b = {r.key: r.correct for r in rows_b}
    out = []
    for key in sorted(set(sa) | set(sb)):
        a, b = sa.get(key), sb.get(key)
        flipped = sum(
            1
            for k, v in cells_a.items()
            if (k[1], k[2]) == key and k in cells_b and cells_b[k] != v
        )
        out.append(Difference(
            strategy=key[0], budget=key[1],
            accuracy_a=a.accuracy if a else None, accuracy_b=b.accuracy if b else None,
            tokens_a=a.completion_tokens if a else None, tokens_b=b.completion_tokens if b else None,
            flipped=flipped,
        ))  # fmt: skip
    return out


def compare_table(diffs: list[Difference], name_a: str, name_b: str) -> str:
    """The comparison as a markdown table (B minus A)."""

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f}"

    lines = [f"| strategy | budget | accuracy {name_a} | accuracy {name_b} | delta (pts) "
             f"| tokens {name_a} | tokens {name_b} | tasks flipped |", "|" + "---|" * 8]  # fmt: skip
    for d in diffs:
        delta = "-" if d.delta is None else f"{100 * d.delta:+.1f}"
        lines.append(
            f"| {d.strategy} | {d.budget} | {pct(d.accuracy_a)} | {pct(d.accuracy_b)} "
            f"| {delta} | {num(d.tokens_a)} | {num(d.tokens_b)} | {d.flipped} |"
        )
    return "\n".join(lines) + "\n"
