"""Throughput of the local backend (one stream, n=8) and the response cache's hit cost.

Run: .venv/bin/python bench/llm_throughput.py [--model local] [--max-tokens 128]
Prints a markdown table; everything runs in this one process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from ponder.llm import ModelClient, ResponseCache, SamplingParams, create_llm

PROMPT = [
    {
        "role": "user",
        "content": "Write a Python function `is_prime(n)` with a docstring, then explain it.",
    }
]
LONG_PROMPT = [{"role": "user", "content": "Summarise this code:\n" + "x = x + 1\n" * 120}]


async def bench(
    model: str, max_tokens: int, n: int, hits: int, threads: int | None
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    start = time.monotonic()
    llm = create_llm(model, **({"n_threads": threads} if threads else {}))
    with tempfile.TemporaryDirectory() as tmp:
        client = ModelClient(llm, ResponseCache(Path(tmp) / "bench.sqlite"))
        warm = await llm.generate(PROMPT, SamplingParams(max_tokens=1))  # loads the model
        rows.append(("load + first token", f"{time.monotonic() - start:.2f} s", model))

        t = time.monotonic()
        gen = await llm.generate(LONG_PROMPT, SamplingParams(max_tokens=1))
        dt = time.monotonic() - t
        rows.append(
            ("prompt eval", f"{gen.prompt_tokens / dt:.0f} tokens/s", f"{gen.prompt_tokens} tokens")
        )

        one = SamplingParams(max_tokens=max_tokens)
        t = time.monotonic()
        gen = await client.generate(PROMPT, one)
        miss_s = time.monotonic() - t
        rows.append(
            (
                "one stream (greedy)",
                f"{gen.completion_tokens / miss_s:.1f} tokens/s",
                f"{gen.completion_tokens} tokens in {miss_s:.2f} s",
            )
        )

        many = SamplingParams(n=n, max_tokens=max_tokens, temperature=0.8, seed=1)
        t = time.monotonic()
        gen = await client.generate(PROMPT, many)
        dt = time.monotonic() - t
        rows.append(
            (
                f"n={n} (T=0.8, seeded)",
                f"{gen.completion_tokens / dt:.1f} tokens/s summed",
                f"{gen.completion_tokens} tokens in {dt:.2f} s ({'batched' if llm.batches else 'sequential'})",
            )
        )

        times = []
        for _ in range(hits):
            t = time.perf_counter()
            cached = await client.generate(PROMPT, one)
            times.append(time.perf_counter() - t)
        assert cached.cached
        hit_ms = statistics.median(times) * 1000
        rows.append(
            (
                "cache hit",
                f"{hit_ms:.3f} ms",
                f"median of {hits}; the miss it replaces took {miss_s * 1000:.0f} ms "
                f"({miss_s * 1000 / hit_ms:,.0f}x)",
            )
        )

        misses = []
        for i in range(hits):
            t = time.perf_counter()
            client.cache.get(model, PROMPT, SamplingParams(max_tokens=1000 + i))
            misses.append(time.perf_counter() - t)
        rows.append(
            (
                "cache miss lookup",
                f"{statistics.median(misses) * 1000:.3f} ms",
                "added to each miss",
            )
        )
        client.cache.close()
        del warm
    await llm.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="model string (default: local)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--hits", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (local)")
    args = parser.parse_args()
    rows = asyncio.run(bench(args.model, args.max_tokens, args.n, args.hits, args.threads))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} at start\n")
    print("| measure | result | detail |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
