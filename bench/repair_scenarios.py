"""The repair scenarios under fixed strategies at one non-binding budget: solved counts.

Run: .venv/bin/python bench/repair_scenarios.py --out bench/results/repair-10
     [--strategies greedy,best_of_n] [--n 4] [--budget-tokens 40000] [--sandbox docker]

Each (scenario, strategy) is one `ponder repair` run (the graph, the run directory) with the
embedded model; `best_of_n` draws `--n` patches (one greedy, the rest sampled). The budget is
large enough not to bind, so the solved count measures the search, not the budget (this is how
the solved count is compared across engine changes). Writes OUT/results.jsonl (one row per
run, with the provenance of the code and model; a rerun skips rows already there) and prints a
markdown table. Visible = the repository's own FAIL_TO_PASS/PASS_TO_PASS pass; hidden = graded
on the scenario's hidden tests too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from ponder import provenance
from ponder.config import BudgetConfig, RunConfig
from ponder.llm import open_model
from ponder.repair.task import load_scenarios
from ponder.runner import solve_task
from ponder.sandbox import open_sandbox
from ponder.scenarios.repair import SCENARIOS_DIR


def _done(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["scenario"], r["strategy"]) for r in rows}


async def _main(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = _done(results)
    model = open_model(args.model)
    sandbox = open_sandbox(args.sandbox)
    await sandbox.start()
    try:
        record = provenance.collect(model.name, sandbox).model_dump(mode="json")
        for task in load_scenarios(args.scenarios):
            for strategy in args.strategies.split(","):
                if (task.id, strategy) in done:
                    continue
                config = RunConfig(
                    strategy=strategy,
                    model=args.model,
                    sandbox=args.sandbox,
                    search={"n": args.n} if strategy == "best_of_n" else {},
                    budget=BudgetConfig(tokens=args.budget_tokens),
                )
                start = time.monotonic()
                run_dir = out / "runs" / task.id / strategy
                result = await solve_task(
                    task, config, model=model, sandbox=sandbox, out_dir=run_dir
                )
                spent = result.budget["spent"]
                row = {
                    "scenario": task.id,
                    "strategy": strategy,
                    "visible": bool(result.passed_public),
                    "hidden": bool(result.grade and result.grade["correct"]),
                    "completion_tokens": spent["completion_tokens"],
                    "llm_calls": spent["llm_calls"],
                    "test_runs": spent["sandbox_runs"],
                    "nodes": result.nodes,
                    "wall_s": round(time.monotonic() - start, 1),
                    "provenance": record,
                }
                with results.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{task.id} {strategy}: {'solved' if row['hidden'] else 'no'}", flush=True)
    finally:
        await sandbox.close()
        await model.aclose()
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    print("| strategy | visible tests pass | hidden tests pass | mean completion tokens |")
    print("|---|---|---|---|")
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        tokens = sum(r["completion_tokens"] for r in mine) / len(mine)
        print(
            f"| {strategy} | {sum(r['visible'] for r in mine)}/{len(mine)} "
            f"| {sum(r['hidden'] for r in mine)}/{len(mine)} | {tokens:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--scenarios", default=str(SCENARIOS_DIR))
    parser.add_argument("--strategies", default="greedy,best_of_n")
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--budget-tokens", type=int, default=40_000)
    parser.add_argument("--model", default="local")
    parser.add_argument("--sandbox", default="docker")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
