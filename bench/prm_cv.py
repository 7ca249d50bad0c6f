"""Choose a value-head PRM's depth and head width by grouped k-fold cross-validation on the
training tasks only (the held-out tasks stay untouched until `ponder prm eval`).

    PYTHONPATH=. .venv/bin/python bench/prm_cv.py train.jsonl --layers 2,4 --hidden 0,256

For each (layers, hidden) the head is fit on k-1 folds of tasks and scores the solutions of the
k-th; the table gives, per step aggregation, the best-of-N accuracy of the PRM alone and of the
PRM-weighted vote, beside majority voting on the same tasks.
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from ponder.llm.embedded import ensure_embedded_model
from ponder.prm.dataset import StepRecord, by_task, read_records
from ponder.prm.evaluate import prm_weighted_vote
from ponder.prm.hf import ValueHeadConvention
from ponder.prm.steps import aggregate
from ponder.prm.train import TARGETS, TrainConfig, extract_features, fit_head
from ponder.prm.value_head import EncoderRef
from ponder.verifiers.majority import cluster_answers

AGGREGATIONS = ("min", "last", "prod", "mean")


def majority_pick(recs: list[StepRecord]) -> int:
    """The first member of the most common answer (ties: the answer seen first)."""
    labels = cluster_answers([r.answer for r in recs])
    counts: dict[int, int] = {}
    for lab in labels:
        if lab is not None:
            counts[lab] = counts.get(lab, 0) + 1
    if not counts:
        return 0
    return labels.index(max(counts, key=lambda lab: (counts[lab], -labels.index(lab))))


def cross_validate(
    records: list[StepRecord],
    feats: list[torch.Tensor],
    config: TrainConfig,
    folds: list[list[str]],
) -> dict[int, list[float]]:
    """Step scores for every record, each from a head that never saw its task."""
    target = TARGETS[config.target]
    scores: dict[int, list[float]] = {}
    for fold in folds:
        held = set(fold)
        train = [i for i, r in enumerate(records) if r.task_id not in held]
        x = torch.cat([feats[i] for i in train])
        y = torch.tensor([t for i in train for t in target(records[i])])
        head, _, _ = fit_head(x, y, None, None, config)
        with torch.no_grad():
            for i, r in enumerate(records):
                if r.task_id in held:
                    scores[i] = head(feats[i]).sigmoid().tolist()
    return scores


def selection(records: list[StepRecord], scores: dict[int, list[float]], agg: str) -> tuple:
    """(PRM alone, PRM-weighted vote) best-of-N accuracy over tasks."""
    index = {id(r): i for i, r in enumerate(records)}
    alone, voted = [], []
    for recs in by_task(records).values():
        s = [aggregate(scores[index[id(r)]], agg) for r in recs]
        alone.append(recs[max(range(len(s)), key=lambda i: (s[i], -i))].correct)
        voted.append(recs[prm_weighted_vote(recs, s)].correct)
    return sum(alone) / len(alone), sum(voted) / len(voted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a JSONL written by `ponder prm collect`")
    parser.add_argument("--layers", default="2,4", help="encoder depths to try")
    parser.add_argument("--hidden", default="0,256", help="head widths to try (0: linear)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--encoder", default=None, help="model dir or .gguf (default: embedded)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = read_records(args.data)
    groups = by_task(records)
    tasks = sorted(groups)
    random.Random(0).shuffle(tasks)
    folds = [tasks[i :: args.folds] for i in range(args.folds)]
    majority = sum(recs[majority_pick(recs)].correct for recs in groups.values()) / len(groups)
    oracle = sum(any(r.correct for r in recs) for recs in groups.values()) / len(groups)
    print(
        f"{len(records)} solutions of {len(groups)} tasks, {args.folds} folds by task; "
        f"majority {majority:.3f}, pass@N {oracle:.3f}\n"
    )
    cols = " | ".join(f"{a} / {a}+vote" for a in AGGREGATIONS)
    print(f"| layers | head | {cols} | features (s) |")
    print("|---|---|" + "---|" * (len(AGGREGATIONS) + 1))
    encoder = args.encoder or str(ensure_embedded_model())
    for layers in (int(x) for x in args.layers.split(",")):
        start = time.monotonic()
        conv = ValueHeadConvention.for_training(
            EncoderRef.from_spec(encoder, layers=layers), "cpu", torch.float32
        )
        feats = extract_features(conv, records, "cpu", 4096)
        del conv
        seconds = time.monotonic() - start
        for hidden in (int(x) for x in args.hidden.split(",")):
            config = TrainConfig(encoder=encoder, layers=layers, hidden=hidden)
            scores = cross_validate(records, feats, config, folds)
            cells = [selection(records, scores, agg) for agg in AGGREGATIONS]
            head = "linear" if hidden == 0 else f"MLP {hidden}"
            row = " | ".join(f"{a:.3f} / {v:.3f}" for a, v in cells)
            print(f"| {layers} | {head} | {row} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
