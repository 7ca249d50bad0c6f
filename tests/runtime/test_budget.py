"""Budget: batch sizing against the token limits, and wall seconds carried over a resume."""

from __future__ import annotations

import pytest

from ponder.budget import Budget


def test_samples_left_is_n_when_the_budget_has_room() -> None:
    assert Budget().samples_left(4, 512) == 4  # no limits
    assert Budget(max_completion_tokens=4 * 512).samples_left(4, 512) == 4
    assert Budget(max_total_tokens=10_000).samples_left(3, 64) == 3


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (Budget(max_completion_tokens=2 * 512 + 100), 2),
        (Budget(max_total_tokens=3 * 512), 3),
        (Budget(max_completion_tokens=5000, max_total_tokens=512 + 1), 1),  # the tighter wins
        (Budget(max_completion_tokens=100), 1),  # less than one sample's worth: still one
    ],
)
def test_samples_left_shrinks_to_what_the_tokens_pay_for(budget, expected) -> None:
    assert budget.samples_left(4, 512) == expected


def test_samples_left_counts_what_was_spent() -> None:
    budget = Budget(max_completion_tokens=1000)
    budget.record_llm(prompt_tokens=50, completion_tokens=400, seconds=0.1)
    assert budget.samples_left(8, 100) == 6


def test_samples_left_prices_a_sample_at_the_runs_mean_length() -> None:
    # A greedy answer of 150 tokens was drawn; 600 tokens remain: four more samples of the same
    # length fit, although one of full length (512) would leave room for only one.
    budget = Budget(max_completion_tokens=750)
    budget.record_llm(prompt_tokens=80, completion_tokens=150, seconds=0.1, samples=1)
    assert budget.expected_sample_tokens(512) == 150
    assert budget.samples_left(8, 512) == 4
    budget.record_llm(prompt_tokens=80, completion_tokens=450, seconds=0.1, samples=3)
    assert budget.expected_sample_tokens(512) == 150
    assert budget.samples_left(8, 512) == 1  # nothing left: still one (exhausted() decides)


def test_resume_carries_spend_and_wall_seconds_into_the_limits() -> None:
    budget = Budget(max_seconds=5.0, max_llm_calls=10)
    assert budget.wall_seconds < 5.0 and not budget.exhausted()
    budget.resume({"llm_calls": 3, "completion_tokens": 70}, wall_seconds=6.5)
    assert budget.spent.llm_calls == 3 and budget.spent.completion_tokens == 70
    assert budget.wall_seconds >= 6.5
    assert budget.report()["wall_seconds"] >= 6.5
    assert budget.exhausted_reason().startswith("wall seconds limit 5.0 reached")
