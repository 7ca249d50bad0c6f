"""`ponder prm eval`: step-label AUC and best-of-N selection accuracy: PRM vs judge vs majority."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ponder.prm.dataset import StepRecord, by_task
from ponder.prm.metrics import roc_auc
from ponder.prm.steps import aggregate
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict, Verifier


@dataclass
class MethodResult:
    """How one selector did: best-of-N accuracy over tasks, AUCs where step scores exist."""

    method: str
    accuracy: float
    tasks: int
    step_auc: float | None = None
    outcome_auc: float | None = None
    seconds: float = 0.0


@dataclass
class EvalReport:
    tasks: int
    n: float
    oracle: float  # share of tasks with at least one correct candidate (pass@N)
    mean_single: float  # expected accuracy of picking one candidate at random
    methods: list[MethodResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidate_id(rec: StepRecord) -> str:
    """The id of the candidate a record becomes (verifiers see it as `Candidate.id`)."""
    return f"{rec.task_id}#{rec.sample}"


def _candidate(rec: StepRecord) -> Candidate:
    return Candidate(
        text=rec.text or "\n".join(rec.steps),
        steps=list(rec.steps),
        answer=rec.answer,
        id=candidate_id(rec),
    )


def _view(recs: Sequence[StepRecord]) -> VisibleTask:
    return VisibleTask(id=recs[0].task_id, kind="math", prompt=recs[0].prompt)


def _pick(scores: Sequence[float]) -> int:
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def prm_weighted_vote(recs: Sequence[StepRecord], scores: Sequence[float]) -> int:
    """search-and-learn's weighted best-of-N: sum scores per final answer, pick the best answer's
    highest-scored candidate."""
    from ponder.verifiers.majority import cluster_answers

    labels = cluster_answers([r.answer for r in recs])
    totals: dict[int, float] = {}
    for lab, s in zip(labels, scores, strict=True):
        if lab is not None:
            totals[lab] = totals.get(lab, 0.0) + s
    if not totals:
        return _pick(scores)
    best = max(totals, key=totals.__getitem__)
    members = [i for i, lab in enumerate(labels) if lab == best]
    return max(members, key=lambda i: scores[i])


async def evaluate_verifier(
    name: str,
    verifier: Verifier,
    groups: dict[str, list[StepRecord]],
    aggregations: Sequence[str] = ("min",),
    on_task: Callable[[str], None] | None = None,
) -> list[MethodResult]:
    """Run one verifier over every task's candidates; one result per aggregation of its
    step scores (`score` itself when the verifier gives no step scores)."""
    start = time.monotonic()
    verdicts: dict[str, list[Verdict]] = {}
    for task_id, recs in groups.items():
        verdicts[task_id] = await verifier.verify(_view(recs), [_candidate(r) for r in recs])
        if on_task:
            on_task(task_id)
    seconds = time.monotonic() - start
    has_steps = all(
        v.step_scores and len(v.step_scores) == len(r.steps)
        for tid, recs in groups.items()
        for v, r in zip(verdicts[tid], recs, strict=True)
    )
    results = []
    for agg in aggregations if has_steps else ("score",):
        picks, voted, flat, flat_labels, outs, out_labels = [], [], [], [], [], []
        for tid, recs in groups.items():
            vs = verdicts[tid]
            scores = [aggregate(v.step_scores, agg) if agg != "score" else v.score for v in vs]
            picks.append(recs[_pick(scores)].correct)
            voted.append(recs[prm_weighted_vote(recs, scores)].correct)
            outs += scores
            out_labels += [r.correct for r in recs]
            if has_steps:
                for v, r in zip(vs, recs, strict=True):
                    if r.rollouts:
                        flat += v.step_scores
                        flat_labels += r.labels
        label = name if agg == "score" else f"{name}/{agg}"
        step_auc = roc_auc(flat, flat_labels) if flat else None
        results.append(
            MethodResult(
                label,
                sum(picks) / len(picks),
                len(picks),
                step_auc,
                roc_auc(outs, out_labels),
                round(seconds, 1),
            )
        )
        if name != "majority":
            results.append(
                MethodResult(
                    f"{label}+vote",
                    sum(voted) / len(voted),
                    len(voted),
                    None,
                    None,
                    round(seconds, 1),
                )
            )
    return results


def baseline_report(records: Sequence[StepRecord]) -> EvalReport:
    groups = by_task(records)
    oracle = sum(any(r.correct for r in recs) for recs in groups.values()) / len(groups)
    single = sum(sum(r.correct for r in recs) / len(recs) for recs in groups.values()) / len(groups)
    n = sum(len(recs) for recs in groups.values()) / len(groups)
    return EvalReport(tasks=len(groups), n=n, oracle=oracle, mean_single=single)


async def evaluate(
    records: Sequence[StepRecord],
    verifiers: dict[str, Verifier],
    aggregations: Sequence[str] = ("min", "last", "prod", "mean"),
    on_task: Callable[[str], None] | None = None,
) -> EvalReport:
    """Best-of-N selection accuracy (and AUCs) of each verifier on the tasks in `records`."""
    report = baseline_report(records)
    groups = by_task(records)
    for name, verifier in verifiers.items():
        report.methods += await evaluate_verifier(name, verifier, groups, aggregations, on_task)
    return report
