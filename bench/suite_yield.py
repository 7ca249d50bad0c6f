"""How often the model writes a usable generated-test suite: inputs that parse as calls of the
entry point, and expected values for them (the `generated_tests` verifier's two model calls).

    PYTHONPATH=. .venv/bin/python bench/suite_yield.py mbpp+ --shuffle-seed 0 --limit 32 \
        [--model local] [--out results.json]

Greedy and seeded, as the verifier calls them, through the response cache: run on an older
commit to compare prompts (cached calls replay at once). Prints one line per task and a
summary; `--out` keeps both as JSON with the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ponder.llm.registry import open_model
from ponder.provenance import git_state
from ponder.scenarios import get_scenario
from ponder.verifiers.suite import write_suite


async def measure(scenario: str, limit: int | None, seed: int | None, model: str) -> dict:
    client = open_model(model)
    rows = []
    for task in get_scenario(scenario).tasks(limit=limit, seed=seed):
        suite = await write_suite(task.visible, client, budget=None)
        row = {
            "task_id": task.id,
            "inputs": len(suite.tests),
            "values": suite.checked,
            "note": suite.note[:120],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {
        "tasks": len(rows),
        "with_inputs": sum(r["inputs"] > 0 for r in rows),
        "with_values": sum(r["values"] > 0 for r in rows),
        "inputs": sum(r["inputs"] for r in rows),
        "values": sum(r["values"] for r in rows),
    }
    commit, dirty = git_state()
    return {"scenario": scenario, "limit": limit, "shuffle_seed": seed, "model": model,
            "commit": commit, "dirty": dirty, "summary": summary, "tasks": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--shuffle-seed", type=int)
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure(args.scenario, args.limit, args.shuffle_seed, args.model))
    print(json.dumps(result["summary"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
