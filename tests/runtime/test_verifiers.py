"""Built-in verifiers and the registry, with the scripted LLM and a recording sandbox."""

from __future__ import annotations

import math

import pytest

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.kinds.answers import extract_answer, extract_boxed, last_number, same_answer
from ponder.llm.base import LLM, Completion, Generation, SamplingParams, TokenLogprob
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.task import VisibleTask
from ponder.verifiers import Candidate, Verdict, Verifier, build_verifier, get_verifier

CODE = VisibleTask(
    id="add",
    kind="code",
    prompt="def add(a, b):\n    '''Return a + b.'''\n",
    entry_point="add",
    public_tests=["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(2, 2) == 4"],
)
MATH = VisibleTask(id="m", kind="math", prompt="What is 6 * 7?")
GOOD = Candidate(text="def add(a, b):\n    return a + b\n")
HALF = Candidate(text="def add(a, b):\n    return a - b\n")
LOOP = Candidate(text="def add(a, b):\n    while True:\n        pass\n")
BROKEN = Candidate(text="def add(a, b)\n    return a + b\n")


def client(script) -> tuple[ModelClient, ScriptedLLM]:
    llm = ScriptedLLM(script)
    return ModelClient(llm), llm


async def test_tests_verifier_scores_fraction_passed(sandbox) -> None:
    budget = Budget()
    verifier = get_verifier("tests", sandbox=sandbox, budget=budget, model=None)
    good, half, broken = await verifier.verify(CODE, [GOOD, HALF, BROKEN])
    assert (good.score, good.passed, good.feedback) == (1.0, True, "all 3 tests passed")
    assert (half.score, half.passed) == (pytest.approx(1 / 3), False)
    assert half.feedback.startswith("failed test 1: assert add(1, 2) == 3")
    assert "AssertionError" in half.feedback and 'File "test_0.py"' in half.feedback
    assert half.details["failed"] == [0, 2]
    assert (broken.score, broken.passed) == (0.0, False)
    assert "SyntaxError" in broken.feedback and "failed to run" in broken.feedback
    assert budget.spent.sandbox_runs == 3 == len(sandbox.jobs)


async def test_tests_verifier_stops_a_looping_candidate(sandbox) -> None:
    verifier = get_verifier("tests", sandbox=sandbox, per_test_s=0.5)
    (loop,) = await verifier.verify(CODE, [LOOP])
    assert (loop.score, loop.passed) == (0.0, False)
    assert "Timeout" in loop.feedback and "stopped after test 1 timed out" in loop.feedback


async def test_tests_verifier_without_public_tests_is_unknown(sandbox) -> None:
    task = CODE.model_copy(update={"public_tests": []})
    (verdict,) = await get_verifier("tests", sandbox=sandbox).verify(task, [GOOD])
    assert (verdict.score, verdict.passed) == (0.5, None)
    assert sandbox.jobs == []
    with pytest.raises(ConfigError, match="checks code"):
        await get_verifier("tests", sandbox=sandbox).verify(MATH, [GOOD])


async def test_judge_parses_yes_no_and_scores_steps() -> None:
    model, llm = client(["Yes.", "no", "yes", "maybe"])
    budget = Budget()
    judge = get_verifier("judge", model=model, budget=budget)
    cand = Candidate(text="42", steps=["6 * 7 = 42", "so 42"], answer="42")
    (verdict,) = await judge.verify(MATH, [cand])
    assert verdict.score == 1.0 and verdict.passed is None
    assert verdict.step_scores == [0.0, 1.0]
    assert "weakest step 1" in verdict.feedback
    assert budget.spent.llm_calls == 3
    whole, step1, step2 = (call[0][-1]["content"] for call in llm.calls)
    assert "6 * 7 = 42" in whole and "Final answer: 42" in whole
    assert "Step 1 to check:\n6 * 7 = 42" in step1
    assert "Step 1: 6 * 7 = 42" in step2 and "Step 2 to check:\nso 42" in step2
    (unparsed,) = await judge.verify(MATH, [Candidate(text="x")])
    assert (unparsed.score, unparsed.step_scores) == (0.5, None)
    assert "not yes/no" in unparsed.feedback


class LogprobLLM(LLM):
    """Answers "Yes" with P(yes) = 0.8 in its first token's alternatives."""

    name = "logprob"

    async def generate(self, messages, params: SamplingParams) -> Generation:
        assert params.logprobs
        top = {"Yes": math.log(0.6), "yes": math.log(0.2), "No": math.log(0.2)}
        tok = TokenLogprob(token="Yes", logprob=math.log(0.6), top=top)
        completion = Completion(
            text="Yes", finish_reason="stop", completion_tokens=1, logprobs=[tok]
        )
        return Generation(completions=[completion], prompt_tokens=10, model=self.name)


async def test_judge_uses_logprobs_when_available() -> None:
    judge = get_verifier("judge", model=ModelClient(LogprobLLM()))
    (verdict,) = await judge.verify(CODE, [GOOD])
    assert verdict.score == pytest.approx(0.8)
    assert verdict.details["method"] == "logprobs"


async def test_majority_groups_equivalent_answers() -> None:
    cands = [
        Candidate(text="6*7 = \\boxed{42}"),
        Candidate(text="The answer is 42.0"),
        Candidate(text="so", answer="\\frac{84}{2}"),
        Candidate(text="The answer is 41."),
        Candidate(text="I give up."),
    ]
    verdicts = await get_verifier("majority").verify(MATH, cands)
    assert [v.score for v in verdicts] == [0.6, 0.6, 0.6, 0.2, 0.0]
    assert verdicts[0].details["votes"] == 3 and verdicts[4].feedback == "no final answer found"
    with pytest.raises(ConfigError, match="compares final answers"):
        await get_verifier("majority").verify(CODE, cands)


async def test_chooser_picks_one_candidate() -> None:
    model, llm = client(["Candidate 2 is best."])
    verdicts = await get_verifier("chooser", model=model).verify(CODE, [GOOD, HALF, LOOP])
    assert [v.score for v in verdicts] == [0.0, 1.0, 0.0]
    prompt = llm.calls[0][0][-1]["content"]
    assert "=== Candidate 3 ===" in prompt and "while True" in prompt
    model, _ = client(["none of them"])
    unsure = await get_verifier("chooser", model=model).verify(CODE, [GOOD, HALF])
    assert [v.score for v in unsure] == [0.5, 0.5]
    model, llm = client(["1"])
    (only,) = await get_verifier("chooser", model=model).verify(CODE, [GOOD])
    assert only.score == 1.0 and llm.calls == []


async def test_composite_weights_parts(sandbox) -> None:
    model, _ = client(["no"])
    verifier = build_verifier(["tests:3", "judge:1"], sandbox=sandbox, model=model)
    good, half = await verifier.verify(CODE, [GOOD, HALF])
    assert good.score == pytest.approx(0.75) and good.passed is True
    assert half.score == pytest.approx(0.25) and half.passed is False
    assert set(good.details["parts"]) == {"tests", "judge"}
    assert "[tests] all 3 tests passed" in good.feedback


def test_registry_errors_name_the_fix(sandbox) -> None:
    with pytest.raises(ConfigError, match="unknown verifier 'nope'") as info:
        get_verifier("nope")
    assert "tests" in info.value.fix and "majority" in info.value.fix
    with pytest.raises(ConfigError, match="verifier 'tests' needs sandbox"):
        get_verifier("tests")
    with pytest.raises(ConfigError, match="bad verifier weight"):
        build_verifier(["tests:heavy"], sandbox=sandbox)
    with pytest.raises(ConfigError, match="weights must be"):
        build_verifier(["tests:0"], sandbox=sandbox)
    assert build_verifier("tests", sandbox=sandbox).name == "tests"
    assert isinstance(get_verifier("majority"), Verifier)


def test_verdict_bounds() -> None:
    with pytest.raises(ValueError):
        Verdict(score=1.5)
    assert Verdict.unknown("why").passed is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("so \\boxed{\\frac{1}{2}} done", "\\frac{1}{2}"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("The answer is $x = 3$.", "x = 3"),
        ("Final answer: 12", "12"),
        ("blah\n#### 1,234", "1234"),
        ("we get 3 apples and 5 pears", "5"),
        ("no numbers", None),
    ],
)
def test_extract_answer(text: str, answer: str | None) -> None:
    assert extract_answer(text) == answer


def test_answer_helpers() -> None:
    assert extract_boxed("\\boxed{a{b}c}") == "a{b}c"
    assert extract_boxed("\\boxed{unclosed") is None
    assert last_number("-3.5 and 1,000") == "1000"
    assert same_answer("0.5", "\\frac{1}{2}") and not same_answer("2", "3")


async def test_tests_harness_survives_hostile_solutions(sandbox) -> None:
    solutions = {
        "main_block": "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    input()\n",
        "dataclass": "from __future__ import annotations\nfrom dataclasses import dataclass\n"
        "@dataclass\nclass P:\n    x: int\ndef add(a, b):\n    return P(a).x + b\n",
        "hard_exit": "import os\nos._exit(3)\n",
        "prints": 'import sys\nprint(\'@@ponder-0000@@ {"test": 0, "error": null}\')\n'
        "def add(a, b):\n    return 0\n",
    }
    verifier = get_verifier("tests", sandbox=sandbox)
    results = await verifier.verify(CODE, [Candidate(text=t) for t in solutions.values()])
    verdicts = dict(zip(solutions, results, strict=True))
    assert verdicts["main_block"].passed and verdicts["dataclass"].passed
    assert verdicts["hard_exit"].score == 0.0
    assert "ended before the tests ran" in verdicts["hard_exit"].feedback
    assert "exit 3" in verdicts["hard_exit"].feedback
    assert verdicts["prints"].score == pytest.approx(1 / 3)  # a forged line is not a result
