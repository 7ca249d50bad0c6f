"""Throughput of the local backend: one stream, n=8, concurrent calls, shared prefixes, cache hits.

Run: .venv/bin/python bench/llm_throughput.py [--model local] [--max-tokens 128]
     [--engine both|batched|sequential]
Prints a markdown table; everything runs in this one process. `--engine both` (the default)
measures the sequential path (batching=False, the baseline) and then the batching engine, so
their ratios come from the same process and about the same machine load; the load average
is printed beside each figure because the machine is shared.
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
CONCURRENT = [
    [{"role": "user", "content": f"Write a Python function that {task}, then explain it."}]
    for task in (
        "checks whether a number is prime",
        "reverses a string",
        "computes the n-th Fibonacci number",
        "merges two sorted lists",
        "counts the vowels in a string",
        "flattens a nested list",
        "returns the greatest common divisor of two integers",
        "parses a date in ISO format",
    )
]
Row = tuple[str, str, str, str]


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _code(lines: int, tag: str) -> str:
    """A long task prompt: `lines` lines of code, the first naming `tag`."""
    body = "\n".join(f"    total = total + values[{i}] * {i % 7}  # step {i}" for i in range(lines))
    return f"# module {tag}\ndef accumulate(values):\n    total = 0\n{body}\n    return total\n"


async def _prefix_rows(llm, label: str) -> list[Row]:
    """Prompt eval (max_tokens=1) of a cold prompt against one sharing 90% of an earlier prompt."""
    one = SamplingParams(max_tokens=1)
    head = _code(40, "shared")
    first = [{"role": "user", "content": head + "\n# tail A\n" + _code(4, "a") + "\nExplain."}]
    near = [{"role": "user", "content": head + "\n# tail B\n" + _code(4, "b") + "\nExplain."}]
    cold = [
        {
            "role": "user",
            "content": _code(40, "cold") + "\n# tail C\n" + _code(4, "c") + "\nExplain.",
        }
    ]
    await llm.generate(first, one)
    t = time.perf_counter()
    gen_cold = await llm.generate(cold, one)
    cold_s = time.perf_counter() - t
    load_cold = _load()
    t = time.perf_counter()
    gen_near = await llm.generate(near, one)
    near_s = time.perf_counter() - t
    return [
        (
            f"{label}: cold prompt eval",
            f"{cold_s:.2f} s",
            f"{gen_cold.prompt_tokens} tokens, {gen_cold.prompt_tokens / cold_s:.0f} tokens/s",
            load_cold,
        ),
        (
            f"{label}: prompt sharing ~90% with an earlier one",
            f"{near_s:.2f} s",
            f"{gen_near.prompt_tokens} tokens; {near_s / cold_s:.0%} of the cold call",
            _load(),
        ),
    ]


async def _throughput_rows(llm, label: str, max_tokens: int, n: int) -> tuple[list[Row], dict]:
    rows: list[Row] = []
    rates: dict[str, float] = {}
    one = SamplingParams(max_tokens=max_tokens, temperature=0.8, seed=1)
    t = time.monotonic()
    gen = await llm.generate(PROMPT, one)
    dt = time.monotonic() - t
    rates["one"] = gen.completion_tokens / dt
    rows.append(
        (
            f"{label}: one stream (T=0.8, seeded)",
            f"{rates['one']:.1f} tokens/s",
            f"{gen.completion_tokens} tokens in {dt:.2f} s",
            _load(),
        )
    )
    many = SamplingParams(n=n, max_tokens=max_tokens, temperature=0.8, seed=1)
    t = time.monotonic()
    gen = await llm.generate(PROMPT, many)
    dt = time.monotonic() - t
    rates["n"] = gen.completion_tokens / dt
    rows.append(
        (
            f"{label}: n={n} (T=0.8, seeded)",
            f"{rates['n']:.1f} tokens/s summed",
            f"{gen.completion_tokens} tokens in {dt:.2f} s; {rates['n'] / rates['one']:.2f}x one stream",
            _load(),
        )
    )
    t = time.monotonic()
    gens = await asyncio.gather(
        *(
            llm.generate(p, SamplingParams(max_tokens=max_tokens, temperature=0.8, seed=1))
            for p in CONCURRENT
        )
    )
    dt = time.monotonic() - t
    tokens = sum(g.completion_tokens for g in gens)
    rates["concurrent"] = tokens / dt
    rows.append(
        (
            f"{label}: {len(CONCURRENT)} concurrent calls",
            f"{rates['concurrent']:.1f} tokens/s summed",
            f"{tokens} tokens in {dt:.2f} s; {rates['concurrent'] / rates['one']:.2f}x one stream",
            _load(),
        )
    )
    return rows, rates


async def _cache_rows(llm, model: str, hits: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        client = ModelClient(llm, ResponseCache(Path(tmp) / "bench.sqlite"))
        one = SamplingParams(max_tokens=32)
        t = time.monotonic()
        await client.generate(PROMPT, one)
        miss_s = time.monotonic() - t
        times = []
        for _ in range(hits):
            t = time.perf_counter()
            cached = await client.generate(PROMPT, one)
            times.append(time.perf_counter() - t)
        assert cached.cached
        hit_ms = statistics.median(times) * 1000
        rows.append(
            (
                "response cache hit",
                f"{hit_ms:.3f} ms",
                f"median of {hits}; the miss it replaces took {miss_s * 1000:.0f} ms",
                _load(),
            )
        )
        misses = []
        for i in range(hits):
            t = time.perf_counter()
            client.cache.get(model, PROMPT, SamplingParams(max_tokens=1000 + i))
            misses.append(time.perf_counter() - t)
        rows.append(
            (
                "response cache miss lookup",
                f"{statistics.median(misses) * 1000:.3f} ms",
                "added to each miss",
                _load(),
            )
        )
        client.cache.close()
    return rows


async def _one_engine(model: str, batching: bool, args) -> tuple[list[Row], dict]:
    label = "batched" if batching else "sequential"
    opts = {"batching": batching} | ({"n_threads": args.threads} if args.threads else {})
    start = time.monotonic()
    llm = create_llm(model, **opts)
    await llm.generate(PROMPT, SamplingParams(max_tokens=1))  # loads the model
    rows: list[Row] = [
        (f"{label}: load + first token", f"{time.monotonic() - start:.2f} s", model, _load())
    ]
    t = time.monotonic()
    gen = await llm.generate(LONG_PROMPT, SamplingParams(max_tokens=1))
    dt = time.monotonic() - t
    rows.append(
        (
            f"{label}: prompt eval",
            f"{gen.prompt_tokens / dt:.0f} tokens/s",
            f"{gen.prompt_tokens} tokens",
            _load(),
        )
    )
    more, rates = await _throughput_rows(llm, label, args.max_tokens, args.n)
    rows += more
    rows += await _prefix_rows(llm, label)
    if batching and args.hits:
        rows += await _cache_rows(llm, model, args.hits)
    await llm.aclose()
    return rows, rates


async def bench(args) -> list[Row]:
    rows: list[Row] = []
    engines = {"both": [False, True], "batched": [True], "sequential": [False]}[args.engine]
    rates = {}
    for batching in engines:
        more, rates[batching] = await _one_engine(args.model, batching, args)
        rows += more
    if len(rates) == 2:
        for key, what in (
            ("one", "one stream"),
            ("n", f"n={args.n}"),
            ("concurrent", "concurrent"),
        ):
            rows.append(
                (
                    f"batched / sequential: {what}",
                    f"{rates[True][key] / rates[False][key]:.2f}x",
                    "same process",
                    _load(),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="model string (default: local)")
    parser.add_argument("--engine", choices=("both", "batched", "sequential"), default="both")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--hits", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (local)")
    args = parser.parse_args()
    rows = asyncio.run(bench(args))
    print(f"{os.cpu_count()} CPUs; load average (1 min) beside each figure\n")
    print("| measure | result | detail | load |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
