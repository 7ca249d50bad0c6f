"""SamplePool: grade one pool of samples after the search, store it, derive every smaller budget."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ponder.benchmark.executor import PoolDraw
from ponder.benchmark.results import append_line
from ponder.benchmark.stats import (
    PoolSample,
    best_by_score,
    by_agreement,
    majority_vote,
    pass_at_k,
    realized_correct,
    resampled,
)
from ponder.budget import Spend
from ponder.kinds.answers import same_answer
from ponder.sandbox.base import Sandbox
from ponder.scenarios.base import Scenario
from ponder.task import Task

POOLS = "pools.jsonl"  # one graded pool per line, so a resumed or extended bench reuses it


@dataclass(frozen=True)
class Derived:
    """One pool-derived cell: realized and expected correctness plus the share of the cost."""

    strategy: str
    budget: int
    correct: bool
    score: float
    completion_tokens: int
    prompt_tokens: int
    sandbox_runs: int
    wall_s: float


def _share(total: int, k: int, n: int) -> int:
    """The part of a pool-wide count that k of n samples account for (at least 1 if any)."""
    return max(1, round(total * k / n)) if total else 0


def vote_keys(task: Task, answers: list[str | None]) -> list[str]:
    """Voting keys: math answers cluster by math-verify equivalence; code by normalized text."""
    keys: list[str] = []
    reps: list[str] = []
    for answer in answers:
        if answer is None:
            keys.append("<unparsed>")
            continue
        if task.kind != "math":
            keys.append("\n".join(line.rstrip() for line in answer.strip().splitlines()))
            continue
        match = next((r for r in reps if same_answer(r, answer)), None)
        if match is None:
            reps.append(answer)
            match = answer
        keys.append(match)
    return keys


async def grade_pool(
    task: Task, draw: PoolDraw, scenario: Scenario, sandbox: Sandbox | None
) -> list[PoolSample]:
    """Grade each sample on the hidden part (identical answers are graded once)."""
    graded: dict[str, bool] = {}
    keys = vote_keys(task, [d.answer for d in draw.draws])
    samples = []
    per_call_prompt = draw.spent.prompt_tokens // max(1, len(draw.draws))
    for d, key in zip(draw.draws, keys, strict=True):
        if d.answer is None:
            correct = False
        elif d.answer in graded:
            correct = graded[d.answer]
        else:
            correct = graded[d.answer] = (await scenario.grade(task, d.answer, sandbox)).correct
        samples.append(
            PoolSample(
                score=d.score,
                correct=correct,
                answer=key,
                completion_tokens=d.completion_tokens,
                prompt_tokens=per_call_prompt,
                behaviour=d.behaviour,
                matched=d.matched,
                checked=d.checked,
                public=d.public,
            )
        )
    return samples


def _selector(strategy: str, task: Task, pool: list[PoolSample]):
    # Votes are re-run inside each subset (a vote share over the whole pool would leak the
    # larger budget's information). On math, best_of_n's verifier is the majority vote. On
    # code drawn with generated tests, self_consistency votes by behaviour, not program text.
    if strategy == "self_consistency" and any(s.behaviour is not None for s in pool):
        return by_agreement
    if strategy == "self_consistency" or (strategy == "best_of_n" and task.kind == "math"):
        return majority_vote
    return best_by_score


def derive(
    strategy: str,
    task: Task,
    pool: list[PoolSample],
    draw: PoolDraw,
    budgets: list[int],
    rounds: int = 500,
    seed: int = 0,
) -> list[Derived]:
    """The cells of `strategy` at each budget k <= pool size, all from the one pool."""
    n = len(pool)
    correct_count = sum(s.correct for s in pool)
    sampled = sum(s.completion_tokens for s in pool)
    mean_tokens = sampled / n if n else 0.0
    # What verifying cost beyond the samples (writing generated tests): every budget of the
    # vote that used it pays it in full.
    overhead = max(0, draw.spent.completion_tokens - sampled)
    out = []
    for k in budgets:
        if k > n:
            continue
        charged = 0
        if strategy == "pass_at_k":
            score = pass_at_k(n, correct_count, k)
            realized = any(s.correct for s in pool[:k])
        else:
            select = _selector(strategy, task, pool)
            score = resampled(pool, k, select, rounds=rounds, seed=seed)
            realized = realized_correct(pool[:k], select)
            charged = overhead if select is by_agreement else 0
        out.append(Derived(
            strategy=strategy, budget=k, correct=realized, score=score,
            completion_tokens=round(mean_tokens * k) + charged,
            prompt_tokens=sum(s.prompt_tokens for s in pool[:k]),
            sandbox_runs=_share(draw.spent.sandbox_runs, k, n), wall_s=draw.wall_s * k / n,
        ))  # fmt: skip
    return out


def load_pools(out_dir: Path) -> dict[str, tuple[list[PoolSample], PoolDraw]]:
    """Graded pools by task id (the largest stored one per task)."""
    path = out_dir / POOLS
    pools: dict[str, tuple[list[PoolSample], PoolDraw]] = {}
    if not path.is_file():
        return pools
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # torn by a kill
        samples = [PoolSample(**s) for s in rec["samples"]]
        draw = PoolDraw(
            draws=[], spent=Spend(**rec["spent"]), wall_s=rec["wall_s"], run_dir=rec.get("run_dir")
        )
        if rec["task_id"] not in pools or len(samples) > len(pools[rec["task_id"]][0]):
            pools[rec["task_id"]] = (samples, draw)
    return pools


def save_pool(out_dir: Path, task_id: str, samples: list[PoolSample], draw: PoolDraw) -> None:
    rec = {
        "task_id": task_id,
        "samples": [asdict(s) for s in samples],
        "spent": asdict(draw.spent),
        "wall_s": draw.wall_s,
        "run_dir": draw.run_dir,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    append_line(out_dir / POOLS, json.dumps(rec))
