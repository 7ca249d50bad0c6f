"""Statistics of sample pools: unbiased pass@k (Chen et al. 2021) and selection@k by resampling."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import comb

import numpy as np

from ponder.verifiers.agreement import PUBLIC_WEIGHT, agreement_score


@dataclass(frozen=True)
class PoolSample:
    """One sample of a pool: what selection may look at (score, answer) and what grading said."""

    score: float  # verifier score from public tests only, in [0, 1]
    correct: bool  # hidden-test grade, read only after the search
    answer: str = ""  # normalized final answer (math) or program text (code), for voting
    completion_tokens: int = 0
    prompt_tokens: int = 0
    # What the generated tests saw (code pools drawn with them; None otherwise): the
    # sample's behaviour group, the expected values it matched of those checked, and its
    # public-test outcomes. Groups re-form inside each subset, so a vote sees only its k.
    behaviour: str | None = None
    matched: int = 0
    checked: int = 0
    public: tuple[bool, ...] = ()


Selector = Callable[[Sequence[PoolSample]], list[PoolSample]]
"""Picks the winners of a subset: one sample, or several tied ones (in draw order)."""


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of P(at least one of k samples is correct) from n samples, c correct.

    1 - C(n-c, k) / C(n, k), computed as a stable product (Chen et al. 2021, Codex paper).
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_exact(n: int, c: int, k: int) -> float:
    """The same estimator with exact binomials (a cross-check; slow for large n)."""
    return 1.0 - comb(n - c, k) / comb(n, k)


def best_by_score(subset: Sequence[PoolSample]) -> list[PoolSample]:
    """Best-of-n selection: the top-scored samples (ties kept, in draw order)."""
    top = max(s.score for s in subset)
    return [s for s in subset if s.score == top]


def majority_vote(subset: Sequence[PoolSample]) -> list[PoolSample]:
    """Self-consistency: one representative of each most frequent answer (first drawn)."""
    counts = Counter(s.answer for s in subset)
    top = max(counts.values())
    seen: dict[str, PoolSample] = {}
    for s in subset:
        if counts[s.answer] == top and s.answer not in seen:
            seen[s.answer] = s
    return list(seen.values())


def by_agreement(subset: Sequence[PoolSample]) -> list[PoolSample]:
    """Execution agreement (CodeT) inside the subset: the samples of the best-scoring
    behaviour group, scored as the `generated_tests` verifier scores them among these k
    (at its default public weight). Samples the generated tests could not run score 0."""
    sizes = Counter(s.behaviour for s in subset if s.behaviour is not None)

    def score(s: PoolSample) -> float:
        if s.behaviour is None:
            return 0.0
        size = sizes[s.behaviour]
        return agreement_score(size, s.matched, s.checked, len(subset), s.public, PUBLIC_WEIGHT)

    scores = [score(s) for s in subset]
    top = max(scores)
    return [s for s, v in zip(subset, scores, strict=True) if v == top]


def any_correct(subset: Sequence[PoolSample]) -> list[PoolSample]:
    """pass@k's oracle selection: a correct sample if there is one."""
    good = [s for s in subset if s.correct]
    return good[:1] or list(subset[:1])


SELECTORS: dict[str, Selector] = {
    "best_of_n": best_by_score,
    "self_consistency": majority_vote,
    "pass_at_k": any_correct,
}
"""Pool-derived strategies: how each picks its answer from a subset of the pool."""


def expected_correct(subset: Sequence[PoolSample], select: Selector) -> float:
    """P(correct) of the selection when ties are broken uniformly at random."""
    winners = select(subset)
    return sum(s.correct for s in winners) / len(winners)


def realized_correct(subset: Sequence[PoolSample], select: Selector) -> bool:
    """The outcome of one concrete run: ties go to the sample drawn first."""
    return select(subset)[0].correct


def resampled(
    pool: Sequence[PoolSample], k: int, select: Selector, rounds: int = 500, seed: int = 0
) -> float:
    """Expected correctness of `select` on a random size-k subset of the pool (BoN@k).

    Exact when k is 1 or the pool size; otherwise averaged over `rounds` subsets drawn
    without replacement by a seeded generator, so reruns give the same number.
    """
    n = len(pool)
    if not 1 <= k <= n:
        raise ValueError(f"subset size k={k} must be between 1 and the pool size {n}")
    if k == n:
        return expected_correct(pool, select)
    if k == 1:
        return sum(expected_correct([s], select) for s in pool) / n
    rng = random.Random(seed)
    items = list(pool)
    return sum(expected_correct(rng.sample(items, k), select) for _ in range(rounds)) / rounds
