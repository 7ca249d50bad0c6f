"""Choose a value-head PRM's depth and head width by grouped k-fold cross-validation on the
training tasks only (the held-out tasks stay untouched until `ponder prm eval`).

    PYTHONPATH=. .venv/bin/python bench/prm_cv.py train.jsonl --layers 2,4 --hidden 0,256

For each (layers, hidden) the head is fit on k-1 folds of tasks and scores the solutions of the
k-th; the table gives, per step aggregation, the best-of-N accuracy of the PRM alone and of the
PRM-weighted vote, beside majority voting on the same tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import torch

from ponder.llm.embedded import ensure_embedded_model
from ponder.prm.dataset import StepRecord, by_task, read_records
from ponder.prm.evaluate import candidate_id, evaluate_verifier
from ponder.prm.hf import ValueHeadConvention
from ponder.prm.train import TARGETS, TrainConfig, extract_features, fit_head
from ponder.prm.value_head import EncoderRef
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.majority import MajorityVerifier

AGGREGATIONS = ("min", "last", "prod", "mean")


class HeldOutScores:
    """A verifier serving step scores computed beforehand, by candidate id, so the selection
    accuracies come from the same code as `ponder prm eval`'s."""

    name = "prm-cv"

    def __init__(self, scores: dict[str, list[float]]) -> None:
        self.scores = scores

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        return [
            Verdict(score=min(self.scores[c.id]), step_scores=self.scores[c.id]) for c in candidates
        ]


def cross_validate(
    records: list[StepRecord],
    feats: list[torch.Tensor],
    config: TrainConfig,
    folds: list[list[str]],
) -> dict[str, list[float]]:
    """Step scores for every record (by candidate id), each from a head that never saw its task."""
    target = TARGETS[config.target]
    scores: dict[str, list[float]] = {}
    for fold in folds:
        held = set(fold)
        train = [i for i, r in enumerate(records) if r.task_id not in held]
        x = torch.cat([feats[i] for i in train])
        y = torch.tensor([t for i in train for t in target(records[i])])
        head, _, _ = fit_head(x, y, None, None, config)
        with torch.no_grad():
            for i, r in enumerate(records):
                if r.task_id in held:
                    scores[candidate_id(r)] = head(feats[i]).sigmoid().tolist()
    return scores


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
    (majority,) = asyncio.run(evaluate_verifier("majority", MajorityVerifier(), groups))
    oracle = sum(any(r.correct for r in recs) for recs in groups.values()) / len(groups)
    print(
        f"{len(records)} solutions of {len(groups)} tasks, {args.folds} folds by task; "
        f"majority {majority.accuracy:.3f}, pass@N {oracle:.3f}\n"
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
            verifier = HeldOutScores(cross_validate(records, feats, config, folds))
            results = asyncio.run(evaluate_verifier("cv", verifier, groups, AGGREGATIONS))
            accuracy = {r.method: r.accuracy for r in results}
            row = " | ".join(
                f"{accuracy[f'cv/{a}']:.3f} / {accuracy[f'cv/{a}+vote']:.3f}" for a in AGGREGATIONS
            )
            head = "linear" if hidden == 0 else f"MLP {hidden}"
            print(f"| {layers} | {head} | {row} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
