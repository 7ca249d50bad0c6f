"""PRM scoring throughput: steps scored per second by the hf backend, by batch size and device.

    PYTHONPATH=. .venv/bin/python bench/prm_throughput.py --prm PRM_DIR [--device cuda]
    PYTHONPATH=. .venv/bin/python bench/prm_throughput.py --tiny      # a tiny random PRM (smoke)

Candidates are GSM8K-like: a ~60-token problem and 4-6 steps of ~25 tokens. Each row scores
the same candidates in batches of at most B candidates (`max_batch_tokens` sized to fit B).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ponder.prm.base import ScoreRequest
from ponder.prm.hf import HFScorer

WORDS = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "total",
    "each",
    "has",
    "apples",
    "pens",
    "cost",
    "dollars",
    "so",
    "then",
    "we",
    "get",
    "add",
    "multiply",
]


def candidates(n: int, seed: int = 0) -> list[ScoreRequest]:
    rng = random.Random(seed)
    prompt = "Tom has 12 apples. " + " ".join(rng.choice(WORDS) for _ in range(50)) + "?"
    out = []
    for _ in range(n):
        steps = tuple(
            f"Step {k}: "
            + " ".join(rng.choice(WORDS) for _ in range(18))
            + f" = {rng.randint(1, 99)}."
            for k in range(1, rng.randint(4, 6) + 1)
        )
        out.append(ScoreRequest(prompt, steps))
    return out


def measure(
    scorer: HFScorer, reqs: list[ScoreRequest], batch: int, repeats: int
) -> tuple[float, float]:
    longest = max(len(scorer.convention.encode(r).ids) for r in reqs)
    scorer.batcher.max_batch_tokens = longest * batch
    scorer.score_sync(reqs[: min(batch, len(reqs))])  # warm-up
    if scorer.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    rates = []
    steps = sum(len(r.steps) for r in reqs)
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score_sync(reqs)
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates), longest


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--prm", type=Path, help="PRM directory (e.g. from `ponder prm train`)")
    ap.add_argument("--tiny", action="store_true", help="bench a tiny random token-classify PRM")
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--candidates", type=int, default=32)
    ap.add_argument("--batches", default="1,4,8,16,32")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.tiny:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.prm.tiny import save_tiny

        args.prm = save_tiny(Path(tempfile.mkdtemp()) / "tiny", "token-classify")
    if args.prm is None:
        ap.error("pass --prm DIR or --tiny")
    start = time.perf_counter()
    scorer = HFScorer(args.prm, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - start
    reqs = candidates(args.candidates)
    steps = sum(len(r.steps) for r in reqs)
    print(f"PRM {args.prm} ({scorer.convention_name}) on {scorer.device}; loaded in {load_s:.1f}s")
    print(f"{len(reqs)} candidates, {steps} steps, {args.repeats} repeats (median)\n")
    print("| batch (candidates) | tokens / candidate (max) | steps/s |")
    print("|---|---|---|")
    for b in (int(x) for x in args.batches.split(",")):
        rate, longest = measure(scorer, reqs, b, args.repeats)
        print(f"| {b} | {longest} | {rate:.1f} |")


if __name__ == "__main__":
    main()
