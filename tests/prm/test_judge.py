import pytest

from ponder.budget import Budget
from ponder.llm.client import ModelClient
from ponder.prm import ScoreRequest, open_scorer
from ponder.prm.judge import judge_messages
from tests.prm.fakes import YesNoLLM


async def test_judge_reads_p_yes_from_logprobs_per_step():
    llm = YesNoLLM()
    budget = Budget()
    scorer = open_scorer("judge", model=ModelClient(llm), budget=budget)
    scores = await scorer.score([ScoreRequest("2+2?", ("2+2=4", "so wrong 5", "answer 4"))])
    assert scores == [[pytest.approx(0.8), pytest.approx(0.3), pytest.approx(0.8)]]
    assert budget.spent.llm_calls == 3
    assert "Step 2: so wrong 5" in llm.calls[1][-1]["content"]
    assert "Step 3" not in llm.calls[1][-1]["content"]  # a step is judged given the ones before


async def test_judge_falls_back_to_text_without_logprobs():
    scorer = open_scorer("judge", model=ModelClient(YesNoLLM(logprobs=False)))
    assert await scorer.score([ScoreRequest("q", ("ok", "wrong"))]) == [[1.0, 0.0]]


def test_judge_prompt_numbers_steps():
    msgs = judge_messages(ScoreRequest("What is 1+1?", ("one plus one", "is 2")), 2)
    assert "Step 1: one plus one\nStep 2: is 2" in msgs[-1]["content"]
    assert "Is step 2 correct" in msgs[-1]["content"]
