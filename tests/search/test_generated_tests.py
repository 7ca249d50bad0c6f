"""Generated tests (CodeT): suites from the visible task, outputs through the judge, dual agreement,
execution clusters, and searches that do not stop on weak public tests."""

from __future__ import annotations

import ast
import json

import pytest

from ponder.budget import Budget
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM, _count_tokens
from ponder.task import TaskRecord
from ponder.testcalls import run_calls, value_key
from ponder.verifiers import get_verifier
from ponder.verifiers.agreement import Behaviour, cluster, standings
from ponder.verifiers.base import Candidate
from ponder.verifiers.mutation import mutated_calls
from ponder.verifiers.suite import (
    GeneratedTest,
    Suite,
    affordable_inputs,
    expected_cost,
    parse_calls,
    parse_expectations,
)
from tests.search.conftest import RecordingSandbox, run
from tests.search.scripted import Responder, code_task

PROMPT = 'def absolute(x):\n    """Return the absolute value of x."""\n'
IDENTITY = "def absolute(x):\n    return x\n"  # passes the weak public test
CLIPPED = "def absolute(x):\n    return max(x, 0)\n"  # passes it too
RIGHT_A = "def absolute(x):\n    return abs(x)\n"
RIGHT_B = "def absolute(x):\n    return x if x >= 0 else -x\n"
INPUTS = (
    "```python\nabsolute(3)\nabsolute(-2)\nabsolute(0)\nabsolute(-7.5)\nabsolute(len('x'))\n```"
)
RIGHT_EXPECTED = (
    "```python\nassert absolute(3) == 3\nassert absolute(-2) == 2\n"
    "assert absolute(0) == 0\nassert absolute(-7.5) == 7.5\n```"
)
# The model's guesses can be wrong: these two agree with the identity bug.
WRONG_EXPECTED = (
    "```python\nassert absolute(3) == 3\nassert absolute(-2) == -2\n"
    "assert absolute(0) == 0\nassert absolute(-7.5) == -7.5\n```"
)
CANARIES = ("CANARY-HIDDEN-TEST-7f3a", "CANARY-REFERENCE-5c1d", "CANARY-ABS-HIDDEN-33")


def fenced(code: str) -> str:
    return f"```python\n{code}```"


def abs_task():
    return TaskRecord(
        kind="code",
        id="absolute",
        entry_point="absolute",
        prompt=PROMPT,
        public_tests=["assert absolute(3) == 3"],
        hidden_tests=["assert absolute(-4) == 4  # CANARY-ABS-HIDDEN-33"],
    ).to_task()


class AbsResponder:
    """Greedy writes the identity bug; samples and plan-guided candidates vary as scripted."""

    def __init__(self, expected: str = RIGHT_EXPECTED, samples=(CLIPPED, RIGHT_A, RIGHT_B)):
        self.expected = expected
        self.samples = samples

    def __call__(self, messages, params) -> list[str]:
        last = messages[-1]["content"]
        if "test inputs for the Python function" in last:
            return [INPUTS]
        if "work out the value" in last:
            return [self.expected]
        if last.startswith("Complete the following Python function"):
            if "Follow this plan" in last:
                return [fenced(RIGHT_A)] * params.n
            if params.temperature == 0:
                return [fenced(IDENTITY)] * params.n
            return [fenced(self.samples[i % len(self.samples)]) for i in range(params.n)]
        if "Write the first step" in last or "Write step" in last:
            return ["Negate x when it is negative."] * params.n
        if "Rewrite step" in last:
            return ["Negate x when it is negative."]
        if "Wrong step" in last:
            return ["Wrong step: 1\nIt returns negative values."]
        if last.startswith("Fix the following"):
            return [fenced(RIGHT_B)]
        return ["(unscripted prompt)"]


class WithSuite(Responder):
    """The add task's Responder, plus generated inputs and expected values."""

    def __call__(self, messages, params) -> list[str]:
        last = messages[-1]["content"]
        if "test inputs for the Python function" in last:
            return ["```python\nadd(2, 3)\nadd(-1, -1)\nadd(0, 0)\n```"]
        if "work out the value" in last:
            return ["```python\nassert add(2, 3) == 5\nassert add(-1, -1) == -2\n```"]
        return super().__call__(messages, params)


def verifier_for(sandbox, responder):
    llm = ScriptedLLM(responder)
    budget = Budget()
    verifier = get_verifier(
        "generated_tests", sandbox=sandbox, model=ModelClient(llm), budget=budget
    )
    return verifier, llm, budget


def gen_prompts(llm) -> list[str]:
    return [
        m[-1]["content"]
        for m, _ in llm.calls
        if "test inputs for" in m[-1]["content"] or "work out the value" in m[-1]["content"]
    ]


# ------------------------------------------------------------------ parsing the model's suite


def test_parse_calls_keeps_literal_calls_of_the_entry_point_only():
    reply = (
        "Here you go:\n```python\nabsolute(3)\nabsolute(-2)  # negative\nabsolute(3)\n"
        "assert absolute(0) == 0\nabs(4)\nabsolute(x)\nabsolute(*[1])\n"
        "absolute(__import__('os').getcwd())\nabsolute([1, 2][0])\nabsolute(n=5)\n```"
    )
    assert parse_calls(reply, "absolute", 10) == [
        "absolute(3)",
        "absolute(-2)",
        "absolute(0)",
        "absolute(n=5)",
    ]
    assert parse_calls(reply, "absolute", 2) == ["absolute(3)", "absolute(-2)"]


def test_parse_expectations_pairs_values_with_calls():
    calls = ["absolute(3)", "absolute(-2)", "absolute(0)"]
    reply = "```python\nassert absolute(-2) == 2\nassert absolute(3) == x\nabsolute(0) == 0.0\n```"
    tests = parse_expectations(reply, calls, "absolute")
    assert [t.expected for t in tests] == [None, "2", "0.0"]
    assert tests[1].expected_key == value_key(2) and tests[2].expected_key == value_key(0)


def test_value_keys_follow_python_equality():
    assert value_key(2) == value_key(2.0) == value_key(True + 1)
    assert value_key({"b": {3, 1}, "a": 1}) == value_key({"a": 1, "b": frozenset({1, 3})})
    assert value_key(0.1 + 0.2) == value_key(0.3)
    assert value_key([1, 2]) != value_key((1, 2)) != value_key("[1, 2]")


# ------------------------------------------------------------------ agreement, pure


def test_clusters_by_behaviour_not_by_text():
    same = Behaviour((True,), ("k1", "k2"), ("1", "2"))
    other = Behaviour((True,), ("k1", "k3"), ("1", "3"))
    fails_public = Behaviour((False,), ("k1", "k2"), ("1", "2"))
    assert cluster([same, other, same, fails_public]) == [0, 1, 0, 2]


def test_dual_agreement_never_trusts_an_expectation_alone():
    suite = Suite([GeneratedTest("f(1)", "1", "k1"), GeneratedTest("f(2)", "2", "k2")])
    lone = Behaviour((), ("k1", "k2"), ("1", "2"))  # matches both guesses, alone
    crowd = Behaviour((), ("k1", "k9"), ("1", "9"))  # matches one, with two others
    places = standings([lone, crowd, crowd, crowd], suite)
    assert [p.dual for p in places] == [3, 6, 6, 6]
    assert [p.rank for p in places] == [1, 0, 0, 0]


def test_mutated_calls_keep_each_argument_s_type():
    calls = ["f([1, 2, 3], 'ab', 2.5, {'k': [1]}, True)", "f([3], 'x', 0.0, {}, False)"]
    mutants = mutated_calls(calls, "f", 12, seed=3)
    assert mutants == mutated_calls(calls, "f", 12, seed=3)  # deterministic for a seed
    assert 0 < len(mutants) == len(set(mutants)) <= 12
    normal = {"f([1, 2, 3], 'ab', 2.5, {'k': [1]}, True)", "f([3], 'x', 0.0, {}, False)"}
    assert not normal & set(mutants)  # new inputs only
    for call in mutants:
        args = ast.literal_eval(call.removeprefix("f"))
        assert [type(a) for a in args] == [list, str, float, dict, bool]
    assert mutated_calls(["f(x)", "g(1)", "f(*[1])"], "f", 4) == []  # literal f calls only
    # Elements equal by == but not by repr still have two orders: no endless reshuffling.
    assert len(mutated_calls(["f([1, 1.0, True])"], "f", 16, seed=1)) > 1
    assert all(len(c) <= 40 for c in mutated_calls(["f([1] * 0, 'a' )"], "f", 8, max_chars=40))


# ------------------------------------------------------------------ through the judge


async def test_outputs_come_back_through_the_judge(local_sandbox):
    solution = (
        'def f(x):\n    print(\'{"kind": "value"}\')\n    if x == 0:\n        raise KeyError(x)\n'
        "    if x == 9:\n        while True:\n            pass\n    return {'v': [x, x / 2]}\n"
    )
    run = await run_calls(
        local_sandbox,
        solution,
        ["f(4)", "f(0)", "f(9)", "f(1)"],
        per_call_s=1.0,
        tests=["assert f(4)['v'][0] == 4", "assert f(4) == 3"],
        entry_point="f",
    )
    assert run.extra == [True, False]
    value, raised, slow, after = run.outcomes
    assert (value.kind, value.shown, value.key) == (
        "value",
        "{'v': [4, 2.0]}",
        value_key({"v": [4, 2]}),
    )
    assert (raised.kind, raised.key) == ("raised", "raised:KeyError")
    assert (slow.kind, slow.key) == ("failed", "failed:Timeout")
    assert after.kind == "failed"


async def test_a_candidate_cannot_forge_a_recorded_value(local_sandbox):
    forged = (
        "import json\nclass __PonderValue(Exception):\n    pass\n"
        "def absolute(x):\n"
        f"    raise __PonderValue(json.dumps({{'kind': 'value', 'key': {value_key(2)!r}, "
        "'shown': '2'}))\n"
    )
    run = await run_calls(local_sandbox, forged, ["absolute(-2)"], entry_point="absolute")
    (outcome,) = run.outcomes
    assert outcome.kind == "raised" and outcome.key != value_key(2)


@pytest.mark.parametrize("expected", [RIGHT_EXPECTED, WRONG_EXPECTED], ids=["right", "wrong"])
async def test_dual_agreement_picks_the_right_candidate(local_sandbox, expected):
    sandbox = RecordingSandbox(local_sandbox)
    verifier, llm, budget = verifier_for(sandbox, AbsResponder(expected))
    tests = get_verifier("tests", sandbox=local_sandbox)
    task = abs_task().view()
    pool = [Candidate(text=t) for t in (IDENTITY, CLIPPED, RIGHT_A, RIGHT_B)]
    weak = await tests.verify(task, pool)
    assert [v.passed for v in weak] == [True] * 4  # the public test cannot tell them apart
    verdicts = await verifier.verify(task, pool)
    best = max(range(4), key=lambda i: verdicts[i].score)
    assert best in (2, 3) and verdicts[2].score == verdicts[3].score
    assert [v.details["rank"] for v in verdicts] == [1, 2, 0, 0]
    assert verdicts[2].details["votes"] == 2 and verdicts[0].details["votes"] == 1
    assert all(v.passed is None for v in verdicts)  # generated tests never pass alone
    assert verdicts[0].details["outputs"][:2] == ["3", "-2"]  # stored for search to use
    assert verdicts[2].details["outputs"][:2] == ["3", "2"]
    assert "absolute(-2) returned -2" in verdicts[0].feedback
    assert "2 other candidates returned 2" in verdicts[0].feedback
    if expected == RIGHT_EXPECTED:
        assert [v.details["confirmed"] for v in verdicts] == [False, False, True, True]
    # One model call for inputs, one for expectations; one job per program.
    assert len(llm.calls) == 2 and len(sandbox.jobs) == 4
    again = await verifier.verify(task, [*pool, Candidate(text=RIGHT_A + "\n# same\n")])
    assert len(llm.calls) == 2 and len(sandbox.jobs) == 5  # only the new program ran
    assert again[4].details["votes"] == 3
    assert budget.spent.llm_calls == 2


async def test_a_failed_public_test_outweighs_agreement(local_sandbox):
    verifier, _, _ = verifier_for(local_sandbox, AbsResponder())
    broken = "def absolute(x):\n    return abs(x) + (x == 3)\n"
    pool = [Candidate(text=t) for t in (broken, broken + "#", broken + "##", RIGHT_A)]
    verdicts = await verifier.verify(abs_task().view(), pool)
    assert verdicts[0].passed is False and "fails public test(s) [1]" in verdicts[0].feedback
    assert verdicts[3].score > verdicts[0].score


async def test_code_only(local_sandbox):
    from ponder.errors import ConfigError
    from tests.search.scripted import math_task

    verifier, _, _ = verifier_for(local_sandbox, AbsResponder())
    with pytest.raises(ConfigError, match="generated_tests verifier runs code"):
        await verifier.verify(math_task().view(), [Candidate(text="42")])


# ------------------------------------------------------------------ searches through the graph


async def test_best_of_n_picks_by_dual_agreement(local_sandbox, tmp_path):
    plain, _ = await run(
        abs_task(), tmp_path / "plain", local_sandbox, "best_of_n", AbsResponder(),
        search={"n": 4}, verifiers=["tests"],
    )  # fmt: skip
    assert plain.grade["correct"] is False  # every candidate passes; the greedy one is first
    result, _ = await run(
        abs_task(), tmp_path / "gen", local_sandbox, "best_of_n", AbsResponder(),
        search={"n": 4}, verifiers=["tests", "generated_tests"],
    )  # fmt: skip
    assert result.grade["correct"] is True


async def test_mcts_does_not_stop_on_weak_public_tests(local_sandbox, tmp_path):
    plain, _ = await run(
        abs_task(), tmp_path / "plain", local_sandbox, "mcts", AbsResponder(), verifiers=["tests"]
    )
    assert plain.grade["correct"] is False  # the direct answer passed: mcts stopped on it
    result, llm = await run(
        abs_task(), tmp_path / "gen", local_sandbox, "mcts", AbsResponder(),
        verifiers=["tests", "generated_tests"],
    )  # fmt: skip
    assert result.grade["correct"] is True
    assert len(gen_prompts(llm)) == 2  # the suite was written once for the whole search


CLOSE_PROMPT = (
    "def has_close(numbers, threshold):\n"
    '    """Whether any two numbers in the list are closer than threshold."""\n'
)
NEIGHBOURS = (  # compares neighbours only: right on sorted lists, wrong on others
    "def has_close(numbers, threshold):\n"
    "    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))\n"
)
PAIRS_A = (
    "def has_close(numbers, threshold):\n"
    "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
)
PAIRS_B = (
    "def has_close(numbers, threshold):\n"
    "    s = sorted(numbers)\n"
    "    return any(b - a < threshold for a, b in zip(s, s[1:]))\n"
)


def close_task(
    task_id: str = "has_close",
    prompt: str = CLOSE_PROMPT,
    public_test: str = "assert has_close([1.0, 2.0, 3.0], 0.5) == False",
):
    return TaskRecord(
        kind="code",
        id=task_id,
        entry_point="has_close",
        prompt=prompt,
        public_tests=[public_test],
        hidden_tests=["assert has_close([1.0, 5.0, 1.2], 0.3) == True"],
    ).to_task()


def close_responder(messages, params) -> list[str]:
    """The model's inputs are sorted lists only, on which every program agrees."""
    last = messages[-1]["content"]
    if "test inputs for the Python function" in last:
        return [
            "```python\nhas_close([1.0, 2.0, 3.0], 1.5)\nhas_close([1, 2, 4, 4.1, 6], 0.2)\n```"
        ]
    if "work out the value" in last:
        return [
            "```python\nassert has_close([1.0, 2.0, 3.0], 1.5) == True\n"
            "assert has_close([1, 2, 4, 4.1, 6], 0.2) == True\n```"
        ]
    if last.startswith("Complete the following Python function"):
        return [fenced(t) for t in (NEIGHBOURS, PAIRS_A, PAIRS_B)][: params.n]
    return ["(unscripted prompt)"]


@pytest.mark.parametrize("mutants", [0, 16])
async def test_mutated_inputs_split_programs_the_model_s_inputs_cannot(mutants, local_sandbox):
    llm = ScriptedLLM(close_responder)
    verifier = get_verifier(
        "generated_tests", sandbox=local_sandbox, model=ModelClient(llm), n_mutants=mutants
    )
    pool = [Candidate(text=t) for t in (NEIGHBOURS, PAIRS_A, PAIRS_B)]
    verdicts = await verifier.verify(close_task().view(), pool)
    if not mutants:  # one behaviour on sorted lists: the first (the bug) leads the group
        assert [v.details["votes"] for v in verdicts] == [3, 3, 3]
    else:  # a shuffled list tells them apart: the two right programs outvote the bug
        assert [v.details["votes"] for v in verdicts] == [1, 2, 2]
        assert [v.details["rank"] for v in verdicts] == [1, 0, 0]
    assert llm.calls and len(llm.calls) == 2  # the mutants cost no model call


# An MBPP-style task: a prose description whose example has a close pair among sorted numbers.
PROSE_CLOSE = (
    "Write a function to check whether any two numbers in the list are closer than threshold.\n"
    "assert has_close([1.0, 2.8, 3.0, 4.0], 0.3) == True\n"
)


def prose_close_task():
    return close_task("prose_close", PROSE_CLOSE, PROSE_CLOSE.splitlines()[1])


def writes_the_function(messages, params) -> list[str]:
    """The measured habit of the embedded model on MBPP: asked for test inputs of a prose
    task shown in a python block, or for values without the answer's form, it writes the
    function instead."""
    last = messages[-1]["content"]
    if "test inputs for" in last:
        shown_as_code = f"```python\n{PROSE_CLOSE}" in last
        return [fenced(NEIGHBOURS) if shown_as_code else "```python\nhas_close([5, 1], 2)\n```"]
    if "work out the value" in last:
        form_shown = "assert has_close([5, 1], 2) == VALUE" in last
        return [
            "```python\nassert has_close([5, 1], 2) == False\n```"
            if form_shown
            else fenced(NEIGHBOURS)
        ]
    return ["(unscripted prompt)"]


async def test_a_prose_task_gets_test_inputs_not_a_function(local_sandbox):
    llm = ScriptedLLM(writes_the_function)
    verifier = get_verifier("generated_tests", sandbox=local_sandbox, model=ModelClient(llm))
    (verdict,) = await verifier.verify(prose_close_task().view(), [Candidate(text=PAIRS_A)])
    assert verdict.details["inputs"][0] == "has_close([5, 1], 2)"
    assert verdict.details["checked"] == 1 and not verdict.details["note"]
    asked = gen_prompts(llm)[0]
    assert "Description: Write a function to check" in asked  # shown as text, not as code


async def test_mutants_split_groups_even_when_the_model_writes_no_inputs(local_sandbox):
    def no_inputs(messages, params) -> list[str]:
        return [fenced(NEIGHBOURS)]  # a function, whatever the prompt

    verifier = get_verifier(
        "generated_tests", sandbox=local_sandbox, model=ModelClient(ScriptedLLM(no_inputs))
    )
    pool = [Candidate(text=t) for t in (NEIGHBOURS, PAIRS_A, PAIRS_B)]
    verdicts = await verifier.verify(prose_close_task().view(), pool)
    assert "no usable test inputs" in verdicts[0].details["note"]
    assert verdicts[0].details["inputs"]  # the public example's mutants, for free
    assert [v.details["votes"] for v in verdicts] == [1, 2, 2]  # a shuffle parts the close pair
    assert [v.details["rank"] for v in verdicts] == [1, 0, 0]


async def test_self_consistency_on_code_is_not_fooled_by_sorted_inputs(local_sandbox, tmp_path):
    result, llm = await run(
        close_task(), tmp_path, local_sandbox, "self_consistency", close_responder,
        search={"n": 3},
    )  # fmt: skip
    assert result.grade["correct"] is True  # without mutants: the neighbours bug, first of 3


class PlanBlind(AbsResponder):
    """A small model's habit: its greedy program ignores the plan it is given (the identity
    bug, every time); sampled ones vary, call after call."""

    def __init__(self) -> None:
        super().__init__(samples=(CLIPPED, RIGHT_A, RIGHT_B))
        self.sampled = 0

    def __call__(self, messages, params) -> list[str]:
        last = messages[-1]["content"]
        if last.startswith("Complete the following Python function"):
            if params.temperature == 0:
                return [fenced(IDENTITY)] * params.n
            self.sampled += params.n
            return [fenced(self.samples[(self.sampled - i) % 3]) for i in range(params.n)]
        return super().__call__(messages, params)


@pytest.mark.parametrize("rollout", ["greedy", "sample"])
async def test_mcts_sampled_rollouts_find_what_greedy_ones_cannot(rollout, local_sandbox, tmp_path):
    # Greedy rollouts from any thought repeat the direct answer's bug, so the generated tests
    # see one behaviour and the search returns it; sampled rollouts give them different
    # programs to rank, and the right one wins on dual agreement.
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, "mcts", PlanBlind(),
        verifiers=["tests", "generated_tests"], search={"rollout": rollout, "max_iterations": 3},
    )  # fmt: skip
    assert result.grade["correct"] is (rollout == "sample")
    completions = [p for m, p in llm.calls if m[-1]["content"].startswith("Complete the")]
    assert completions[0].temperature == 0  # the direct answer is greedy either way
    assert {p.temperature for p in completions[1:]} == {0.0 if rollout == "greedy" else 0.8}


async def test_mcts_on_code_samples_its_rollouts_by_default(local_sandbox, tmp_path):
    result, _ = await run(
        abs_task(), tmp_path, local_sandbox, "mcts", PlanBlind(),
        verifiers=["tests", "generated_tests"], search={"max_iterations": 3},
    )  # fmt: skip
    assert result.grade["correct"] is True
    config = json.loads((tmp_path / "mcts" / "config.json").read_text())
    assert config["config"]["search"]["rollout"] == "sample"  # recorded: the default it used


async def test_refine_feedback_shows_disagreements(local_sandbox, tmp_path):
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, "refine", AbsResponder(),
        verifiers=["tests", "generated_tests"], search={"max_rounds": 1},
    )  # fmt: skip
    reviews = [m[-1]["content"] for m, _ in llm.calls if "may be wrong" in m[-1]["content"]]
    assert reviews and "absolute(-2) returned -2; expected 2" in reviews[0]
    assert result.grade["correct"] is True  # the fix was checked, not stopped on the first pass


# ------------------------------------------------------------------ isolation


@pytest.mark.parametrize("strategy", ["best_of_n", "mcts", "refine"])
async def test_generated_tests_never_see_hidden_tests(strategy, local_sandbox, tmp_path):
    sandbox = RecordingSandbox(local_sandbox)
    result, llm = await run(
        code_task(), tmp_path, sandbox, strategy, WithSuite(all_bad=True),
        verifiers=["tests", "generated_tests"],
    )  # fmt: skip
    prompts = gen_prompts(llm)
    assert len(prompts) == 2 and "add(-1, -1)" in prompts[1]
    for messages, _ in llm.calls:
        assert not any(c in m["content"] for m in messages for c in CANARIES), strategy
    search_jobs = sandbox.jobs[:-1]
    assert any(
        "__ponder_record" in job.secret and "add(-1, -1)" in job.secret for job in search_jobs
    )
    for job in search_jobs:
        text = "\n".join([job.code or "", job.stdin, job.secret, *job.files.values()])
        assert not any(c in text for c in CANARIES), strategy
    assert "CANARY-HIDDEN-TEST-7f3a" in sandbox.jobs[-1].secret  # grading, after the search


# ------------------------------------------------------------------ the real sandbox


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_generated_tests_in_the_docker_sandbox(docker_sandbox):
    verifier, llm, budget = verifier_for(docker_sandbox, AbsResponder(WRONG_EXPECTED))
    pool = [Candidate(text=t) for t in (IDENTITY, CLIPPED, RIGHT_A, RIGHT_B)]
    verdicts = await verifier.verify(abs_task().view(), pool)
    assert [v.details["rank"] for v in verdicts] == [1, 2, 0, 0]
    outputs = verdicts[2].details["outputs"]
    assert outputs[:4] == ["3", "2", "0", "7.5"]  # len(...) is no literal; then the mutants
    assert 4 < len(outputs) <= 4 + 16  # as many distinct ones as one int argument gives
    assert budget.spent.sandbox_runs == 4


async def test_no_budget_for_the_suite_falls_back_on_the_public_tests(local_sandbox, tmp_path):
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, "mcts", AbsResponder(),
        verifiers=["tests", "generated_tests"], budget={"llm_calls": 1},
    )  # fmt: skip
    assert result.solution is not None and result.passed_public is True
    assert len(llm.calls) == 1 and not gen_prompts(llm)  # the suite's call was refused
    parts = result.verdicts["composite"]["details"]["parts"]
    assert "no budget left" in parts["generated_tests"]["details"]["note"]


async def test_self_consistency_votes_by_behaviour_on_code(local_sandbox, tmp_path):
    # By text, the clipped bug has the most votes (2 of 5); by behaviour, abs and its rewrite
    # agree (2) and match every expected value, so they win.
    samples = (CLIPPED, RIGHT_A, CLIPPED, RIGHT_B, IDENTITY)
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, "self_consistency", AbsResponder(samples=samples),
        search={"n": 5},
    )  # fmt: skip
    assert len(gen_prompts(llm)) == 2
    assert result.grade["correct"] is True


async def test_each_suite_call_has_room_for_its_lines_not_more(local_sandbox, tmp_path):
    # Small models asked for 8 inputs keep enumerating to the token limit, and asked for
    # values go on explaining them; each call gets room for its lines (half again their
    # characters over three), not 512 tokens: n calls shaped like the public example, then
    # one assert per call written, values as long as the public tests' longest.
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, "best_of_n", AbsResponder(),
        search={"n": 4}, verifiers=["tests", "generated_tests"],
    )  # fmt: skip
    (inputs,) = [p for m, p in llm.calls if "test inputs for" in m[-1]["content"]]
    (outputs,) = [p for m, p in llm.calls if "work out the value" in m[-1]["content"]]
    assert inputs.max_tokens == 16 + 8 * (8 + len("absolute(3)") // 2)
    calls = parse_calls(INPUTS, "absolute", 8)  # absolute(len('x')) is no literal call
    lines = [f"assert {call} == 3" for call in calls]  # the public test's value: "3"
    assert outputs.max_tokens == 16 + sum(8 + len(line) // 2 for line in lines) < 512
    assert result.grade["correct"] is True  # the scripted asserts fit


def test_a_tight_budget_gets_a_smaller_suite():
    task = abs_task().view()
    full = expected_cost(task, 8, 512)
    assert affordable_inputs(task, full, 0, 8, 512) == 8
    assert affordable_inputs(task, full + 100, 100, 8, 512) == 8  # the reserve is kept
    assert affordable_inputs(task, full - 1, 0, 8, 512) == 7
    assert affordable_inputs(task, expected_cost(task, 3, 512), 0, 8, 512) == 3
    assert affordable_inputs(task, expected_cost(task, 2, 512) - 1, 0, 8, 512) == 0


@pytest.mark.parametrize("strategy", ["mcts", "refine"])
async def test_a_search_writes_the_suite_its_budget_left_pays_for(
    strategy, local_sandbox, tmp_path
):
    # Room after the greedy answer for a suite of 3 inputs and one more candidate, not 8:
    # the search asks for 3 and still finds the right answer by them.
    task = abs_task()
    greedy = _count_tokens(fenced(IDENTITY))
    three, four = (expected_cost(task.view(), n, 512) for n in (3, 4))
    tokens = greedy + three + greedy + (four - three) // 2
    result, llm = await run(
        task, tmp_path, local_sandbox, strategy, AbsResponder(),
        verifiers=["tests", "generated_tests"], budget={"tokens": tokens},
    )  # fmt: skip
    asked = [m[-1]["content"] for m, _ in llm.calls if "test inputs for" in m[-1]["content"]]
    assert len(asked) == 1 and asked[0].startswith("Write 3 test inputs")
    assert result.grade["correct"] is True


@pytest.mark.parametrize("strategy", ["mcts", "refine"])
async def test_no_suite_when_the_budget_left_could_not_act_on_it(strategy, local_sandbox, tmp_path):
    # The greedy answer passes the weak public test. Writing the tests and one more
    # candidate would not fit in what is left, so the tests are not written: the tokens
    # could not change the answer.
    result, llm = await run(
        abs_task(), tmp_path, local_sandbox, strategy, AbsResponder(),
        verifiers=["tests", "generated_tests"], budget={"tokens": 60},
    )  # fmt: skip
    assert not gen_prompts(llm) and len(llm.calls) == 1
    parts = result.verdicts["composite"]["details"]["parts"]
    assert "too little budget left" in parts["generated_tests"]["details"]["note"]
    # With room to act, the same search writes them and finds the right answer.
    result, llm = await run(
        abs_task(), tmp_path / "roomy", local_sandbox, strategy, AbsResponder(),
        verifiers=["tests", "generated_tests"], budget={"tokens": 4000},
    )  # fmt: skip
    assert len(gen_prompts(llm)) == 2 and result.grade["correct"] is True
