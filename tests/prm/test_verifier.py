import pytest

import ponder.verifiers.prm  # noqa: F401  registers "prm"
from ponder.errors import ConfigError
from ponder.task import VisibleTask
from ponder.verifiers import Candidate, get_verifier
from ponder.verifiers.prm import candidate_steps

MATH = VisibleTask(id="m1", kind="math", prompt="Tom has 3 apples and gets 2 more. How many?")
CODE = VisibleTask(id="c1", kind="code", prompt="def add(a, b): ...", entry_point="add")


class RecordingScorer:
    name = "rule"

    def __init__(self):
        self.requests = []

    async def score(self, requests):
        self.requests += requests
        return [[0.2 if "wrong" in s else 0.9 for s in r.steps] for r in requests]


async def test_prm_verifier_scores_steps_and_names_the_weakest():
    scorer = RecordingScorer()
    verifier = get_verifier("prm", scorer=scorer, aggregation="min")
    good = Candidate(text="Step 1: 3 + 2 = 5\nStep 2: The answer is 5.")
    bad = Candidate(text="Step 1: 3 + 2 = 6 wrong\nStep 2: The answer is 6.")
    v_good, v_bad = await verifier.verify(MATH, [good, bad])
    assert v_good.step_scores == [0.9, 0.9] and v_good.score == 0.9 and v_good.passed is None
    assert v_bad.score == 0.2 and v_bad.details["weakest_step"] == 1
    assert "weakest step 1" in v_bad.feedback and "3 + 2 = 6" in v_bad.feedback
    assert scorer.requests[0].prompt == MATH.prompt


async def test_prm_verifier_aggregations():
    cand = Candidate(text="a\nwrong b\nc")
    for how, expected in [("last", 0.9), ("mean", (0.9 + 0.2 + 0.9) / 3), ("prod", 0.9 * 0.2 * 0.9)]:
        [v] = await get_verifier("prm", scorer=RecordingScorer(), aggregation=how, split="lines").verify(
            MATH, [cand]
        )
        assert v.score == pytest.approx(expected)


def test_code_candidate_steps_are_thoughts_then_program():
    cand = Candidate(text="def add(a, b):\n    return a + b", steps=["use +", "no edge cases"])
    assert candidate_steps(CODE, cand) == ["use +", "no edge cases", cand.text]


def test_math_candidate_with_given_steps_adds_final_text():
    cand = Candidate(text="The answer is 5.", steps=["3 + 2 = 5"])
    assert candidate_steps(MATH, cand) == ["3 + 2 = 5", "The answer is 5."]
    same = Candidate(text="3 + 2 = 5", steps=["3 + 2 = 5"])
    assert candidate_steps(MATH, same) == ["3 + 2 = 5"]


def test_bad_options_fail_at_construction():
    with pytest.raises(ConfigError, match="aggregation 'median'"):
        get_verifier("prm", scorer=RecordingScorer(), aggregation="median")
    with pytest.raises(ConfigError, match="unknown PRM backend 'onnx'"):
        get_verifier("prm", backend="onnx")
