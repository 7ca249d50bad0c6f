"""Sandbox benchmark: warm-pool latency/throughput vs `docker run` per job (same as `ponder sandbox bench`).

Usage: .venv/bin/python bench/sandbox_bench.py [--jobs 300] [--pool-size N]
"""

from __future__ import annotations

import argparse
import asyncio

from ponder.sandbox.bench import markdown, run_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--pool-size", type=int, default=None)
    parser.add_argument("--baseline", type=int, default=7, help="`docker run` samples")
    args = parser.parse_args()
    report = asyncio.run(run_bench(args.jobs, args.pool_size, args.baseline))
    print(markdown(report))


if __name__ == "__main__":
    main()
