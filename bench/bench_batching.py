"""End-to-end effect of the batching engine: one `ponder bench` recipe run on both local paths.

Run: .venv/bin/python bench/bench_batching.py [--limit 8] [--budget 8] [--out DIR]

Runs `ponder bench humaneval --strategies best_of_n --budgets 8 --limit 8` (greedy included,
since it sets the budget unit) twice in this one process: first on the sequential path
(`batching=False`, one LLM call at a time, the baseline) and then on the batching engine
(the default), each with the response cache off so every call is decoded. Prints the wall
time of each, their ratio, the accuracy and tokens of each (the two paths sample different
texts, see the README's reproducibility note), and the machine load beside each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from ponder.benchmark.config import load_bench_config
from ponder.benchmark.session import run_local
from ponder.llm import open_model


async def _one(label: str, batching: bool, args: argparse.Namespace, out: Path) -> dict:
    config = load_bench_config(
        scenario=args.scenario,
        strategies=["best_of_n"],
        budgets=[args.budget],
        limit=args.limit,
        keep_runs=False,
    )
    model = open_model(args.model, cache=False, batching=batching)
    start = time.perf_counter()
    try:
        run = await run_local(config, out / label, model=model)
    finally:
        await model.aclose()
    wall = time.perf_counter() - start
    solved: Counter[str] = Counter()
    for row in run.written:
        solved[f"{row.strategy}@{row.budget}"] += row.correct
    # Pool cells share their samples' tokens, so count each draw once: greedy plus the largest pool.
    tokens = sum(
        r.completion_tokens
        for r in run.written
        if r.strategy == "greedy" or r.budget == args.budget
    )
    return {
        "path": label,
        "wall_s": wall,
        "solved": solved,
        "completion_tokens": tokens,
        "load": os.getloadavg()[0],
    }


async def _main(args: argparse.Namespace) -> None:
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-batching-"))
    before = await _one("sequential", False, args, out)
    after = await _one("batched", True, args, out)
    print(f"results under {out}")
    print("| path | wall time | solved | completion tokens | 1-min load at end |")
    print("|---|---|---|---|---|")
    for r in (before, after):
        solved = ", ".join(f"{k} {v}/{args.limit}" for k, v in sorted(r["solved"].items()))
        print(
            f"| {r['path']} | {r['wall_s']:.0f} s | {solved} | {r['completion_tokens']} "
            f"| {r['load']:.1f} |"
        )
    print(f"speed-up (sequential / batched wall time): {before['wall_s'] / after['wall_s']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="humaneval")
    parser.add_argument("--model", default="local")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--budget", type=int, default=8)
    parser.add_argument("--out", default=None)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
