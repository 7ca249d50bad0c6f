import pytest

import ponder.verifiers.prm  # noqa: F401  registers "prm"
from ponder.errors import ConfigError
from ponder.task import VisibleTask
from ponder.verifiers import Candidate, get_verifier
from ponder.verifiers.prm import candidate_steps, parse_prm_spec

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
    for how, expected in [
        ("last", 0.9),
        ("mean", (0.9 + 0.2 + 0.9) / 3),
        ("prod", 0.9 * 0.2 * 0.9),
    ]:
        [v] = await get_verifier(
            "prm", scorer=RecordingScorer(), aggregation=how, split="lines"
        ).verify(MATH, [cand])
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
    with pytest.raises(ConfigError, match="bad PRM spec 'onnx:x'"):
        get_verifier("prm", prm="onnx:x")


def test_no_prm_configured_names_the_env_var(monkeypatch):
    monkeypatch.delenv("PONDER_PRM", raising=False)
    with pytest.raises(ConfigError, match="no PRM to call") as err:
        get_verifier("prm")
    assert "PONDER_PRM=hf:DIR" in err.value.fix


def test_specs():
    assert parse_prm_spec("hf:/x/prm") == ("hf", {"path": "/x/prm"})
    assert parse_prm_spec("http://127.0.0.1:8000") == ("http", {"url": "http://127.0.0.1:8000"})
    assert parse_prm_spec("judge") == ("judge", {})


async def test_judge_spec_uses_the_run_model():
    from ponder.llm.client import ModelClient
    from tests.prm.fakes import YesNoLLM

    verifier = get_verifier("prm", prm="judge", model=ModelClient(YesNoLLM()))
    [v] = await verifier.verify(MATH, [Candidate(text="3 + 2 = 5\nso wrong 6")])
    assert v.step_scores == [pytest.approx(0.8), pytest.approx(0.3)]


def test_partial_paths_are_their_steps():
    partial = Candidate(text="plan a\nplan b", steps=["plan a", "plan b"])
    assert candidate_steps(CODE, partial) == ["plan a", "plan b"]
    assert candidate_steps(MATH, partial) == ["plan a", "plan b"]
    split = Candidate(text="Step 1: a\n\nStep 2: b", steps=["Step 1: a", "Step 2: b"])
    assert candidate_steps(MATH, split) == ["Step 1: a", "Step 2: b"]
