"""Budget: batch sizing and admitting calls against the limits, and wall seconds carried over a
resume."""

from __future__ import annotations

import pytest

from ponder.budget import Budget, Spend
from ponder.errors import BudgetExhausted


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


# ------------------------------------------------------------ admitting calls (hold_call)


def test_hold_call_admits_while_there_is_room_and_refuses_after() -> None:
    budget = Budget(max_completion_tokens=1000)
    hold = budget.hold_call(4, 100)
    assert hold.samples == 4 and budget.held.completion_tokens == 400
    budget.record_llm(prompt_tokens=10, completion_tokens=1000, seconds=0.1, samples=4)
    budget.release(hold)
    assert budget.held.completion_tokens == 0
    with pytest.raises(BudgetExhausted, match="completion tokens limit 1000 reached"):
        budget.hold_call(1, 100)


@pytest.mark.parametrize(
    ("left", "n", "max_tokens", "samples"),
    [
        (700, 4, 512, 2),  # the second sample starts with 188 tokens left: it may end past
        (512, 4, 512, 1),
        (513, 4, 512, 2),
        (1, 8, 64, 1),  # one token left: one sample, at most 63 tokens over
        (10_000, 3, 64, 3),
    ],
)
def test_hold_call_cuts_a_batch_to_the_samples_that_start_inside_the_limit(
    left, n, max_tokens, samples
) -> None:
    budget = Budget(max_completion_tokens=left)
    assert budget.hold_call(n, max_tokens).samples == samples
    # Worst case, every sample runs to max_tokens: still below the limit plus one sample.
    assert samples * max_tokens < left + max_tokens


def test_holds_of_calls_in_flight_count_against_the_limit() -> None:
    budget = Budget(max_completion_tokens=1000, max_llm_calls=3)
    first = budget.hold_call(1, 512)
    second = budget.hold_call(1, 512)  # 488 left after the first's hold
    with pytest.raises(BudgetExhausted, match="held by calls in flight"):
        budget.hold_call(1, 512)  # the two in flight may spend it all
    budget.release(first)
    budget.release(second)
    assert budget.hold_call(1, 512).samples == 1


def test_llm_calls_and_sandbox_runs_never_pass_their_limits() -> None:
    budget = Budget(max_llm_calls=2, max_sandbox_runs=1)
    holds = [budget.hold_call(1, 10), budget.hold_call(1, 10)]
    with pytest.raises(BudgetExhausted, match="LLM calls limit 2"):
        budget.hold_call(1, 10)
    run = budget.hold_sandbox_run()
    with pytest.raises(BudgetExhausted, match="sandbox runs limit 1"):
        budget.hold_sandbox_run()
    for hold in [*holds, run]:
        budget.release(hold)
    budget.record_sandbox(0.1)
    with pytest.raises(BudgetExhausted, match="sandbox runs limit 1 reached"):
        budget.hold_sandbox_run()


def test_total_tokens_count_the_prompt_estimate() -> None:
    budget = Budget(max_total_tokens=1000)
    assert budget.hold_call(4, 100, prompt_tokens=850).samples == 2
    with pytest.raises(BudgetExhausted, match="total tokens"):
        Budget(max_total_tokens=1000).hold_call(1, 100, prompt_tokens=1000)


def test_wall_seconds_refuse_a_call() -> None:
    budget = Budget(max_seconds=1.0)
    budget.resume({}, wall_seconds=2.0)
    with pytest.raises(BudgetExhausted, match="wall seconds"):
        budget.hold_call(1, 10)


def test_spend_records_the_largest_call_and_adds_by_maximum() -> None:
    budget = Budget()
    budget.release(budget.hold_call(2, 64))
    budget.release(budget.hold_call(1, 512))
    assert budget.spent.largest_call_tokens == 512
    total = Spend(completion_tokens=5, largest_call_tokens=64) + Spend(
        completion_tokens=7, largest_call_tokens=512
    )
    assert (total.completion_tokens, total.largest_call_tokens) == (12, 512)
    assert "largest_call_tokens" in budget.report()["spent"]
