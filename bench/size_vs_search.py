"""Model size against search: a bigger model's greedy against a smaller model's strategies.

Pairs two bench directories on the tasks both hold (every cell of the small model's bench,
greedy of the big one's) and counts compute in ways that compare across sizes: generated
tokens times parameters, and decode seconds at each model's measured single-stream rate on
this machine (the study's own wall times overlap, its cells run concurrently).

    python bench/size_vs_search.py --small bench/results/study-humaneval \\
        --big bench/results/humaneval-seeded-coder-1.5b --big bench/results/humaneval-0-18-coder-1.5b
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ponder.benchmark.report import complete_tasks
from ponder.benchmark.results import CellResult, SummaryRow, load_results, summarize

# Parameters of the embedded models (Qwen2.5-Coder-0.5B/1.5B-Instruct, from their model cards),
# and their greedy decode rates here (README, Models: 1 llama.cpp thread, other jobs running).
PARAMETERS = {"local": 0.494e9, "local:coder-1.5b": 1.544e9}
TOKENS_PER_SECOND = {"local": 7.5, "local:coder-1.5b": 3.6}


def model_of(rows: list[CellResult], where: Path) -> str:
    models = {r.provenance.get("model") or r.versions.get("model") for r in rows}
    if len(models) != 1 or None in models:
        raise SystemExit(f"{where}: expected rows of one model, found {sorted(map(str, models))}")
    model = models.pop()
    if model not in PARAMETERS:
        raise SystemExit(f"{where}: no parameter count for model {model!r}; add it to PARAMETERS")
    return model


def table(lines: list[tuple[str, SummaryRow]]) -> str:
    out = [
        "| model | strategy | budget | tasks | accuracy | completion tokens "
        "| tokens x parameters (T) | decode s (estimate) |",
        "|" + "---|" * 8,
    ]
    for model, row in lines:
        token_parameters = row.completion_tokens * PARAMETERS[model] / 1e12
        seconds = row.completion_tokens / TOKENS_PER_SECOND[model]
        out.append(
            f"| {model} | {row.strategy} | {row.budget} | {row.tasks} | {100 * row.accuracy:.1f}% "
            f"| {row.completion_tokens:,.0f} | {token_parameters:.2f} | {seconds:.0f} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=Path, required=True, help="the small model's study")
    parser.add_argument(
        "--big", type=Path, action="append", required=True,
        help="the big model's greedy bench (repeat for several; a task's first row counts)",
    )  # fmt: skip
    args = parser.parse_args()
    small_rows = load_results(args.small)
    small = model_of(small_rows, args.small)
    big_greedy: dict[str, CellResult] = {}
    big_models = set()
    for where in args.big:
        rows = load_results(where)
        big_models.add(model_of(rows, where))
        for r in rows:
            if r.strategy == "greedy" and r.budget == 1:
                big_greedy.setdefault(r.task_id, r)
    if len(big_models) != 1:
        raise SystemExit(f"the --big benches must be of one model, not {sorted(big_models)}")
    big = big_models.pop()
    tasks = complete_tasks(small_rows) & set(big_greedy)
    if not tasks:
        raise SystemExit(f"{args.small} and {args.big} share no task with every cell")
    lines = [(big, row) for row in summarize([big_greedy[t] for t in sorted(tasks)])]
    lines += [(small, row) for row in summarize([r for r in small_rows if r.task_id in tasks])]
    print(f"Paired on {len(tasks)} tasks: {', '.join(sorted(tasks, key=task_order))}\n")
    print(table(lines))


def task_order(task_id: str) -> tuple[str, int]:
    prefix, _, number = task_id.rpartition("/")
    return (prefix, int(number)) if number.isdigit() else (task_id, 0)


if __name__ == "__main__":
    main()
