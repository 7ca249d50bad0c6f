"""Agents: parsing of code, answers, thoughts and critiques; prompts per task kind."""

from __future__ import annotations

import pytest

from ponder.agents import AgentSettings, Draft, Reviewer, Solver
from ponder.agents.parsing import (
    extract_code,
    extract_math_answer,
    parse_critique,
    parse_thought,
)
from ponder.budget import Budget
from ponder.errors import ConfigError, OutputParseError
from ponder.kinds import get_kind
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from tests.search.scripted import code_task, math_task


def test_fenced_code_prefers_the_block_defining_the_entry_point():
    text = "Here:\n```python\nimport math\n```\nand\n```python\ndef f(x):\n    return x\n```\n"
    assert extract_code(text, "f") == "def f(x):\n    return x"


def test_bare_code_drops_trailing_prose():
    text = "Sure!\ndef f(x):\n    return x + 1\nThis adds one."
    assert extract_code(text, "f") == "def f(x):\n    return x + 1"


def test_unterminated_fence_still_parses():
    assert extract_code("```python\ndef f():\n    return 1\n", "f").startswith("def f")


def test_no_code_is_an_output_parse_error():
    with pytest.raises(OutputParseError, match="no Python code"):
        extract_code("I don't know.", "f")


@pytest.mark.parametrize(
    "text,answer",
    [
        ("so \\boxed{\\frac{1}{2}} done", "\\frac{1}{2}"),
        ("Therefore the answer is 17.", "17"),
        ("Final answer: x = 3", "x = 3"),
    ],
)
def test_math_answers(text, answer):
    assert extract_math_answer(text) == answer


def test_math_without_answer_is_an_error():
    with pytest.raises(OutputParseError, match="no final answer"):
        extract_math_answer("I am not sure")


def test_thoughts_strip_numbering_and_reject_blank():
    assert parse_thought("Step 2: Sort the list.\nmore") == "Sort the list."
    assert parse_thought("1. Use a set") == "Use a set"
    with pytest.raises(OutputParseError):
        parse_thought("\n  \n")


def test_critique_names_the_first_wrong_step():
    assert parse_critique("Wrong step: 2\nIt divides by zero.", 3).wrong_step == 1
    assert parse_critique("Wrong step: none. Looks fine", 3).wrong_step is None
    assert parse_critique("Wrong step: 9", 3).wrong_step is None  # out of range


def test_code_candidate_prompt_is_the_plain_prompt_without_a_plan():
    (msg,) = get_kind("code").render("candidate", task=code_task().view(), steps=[])
    assert msg["content"].startswith(
        "Complete the following Python function. Return the whole function in a single python code block."
    )
    assert "plan" not in msg["content"].lower()
    (msg,) = get_kind("code").render("candidate", task=code_task().view(), steps=["Add them."])
    assert "1. Add them." in msg["content"]


def test_unknown_kind_is_a_config_error():
    from ponder.kinds import kind_of

    with pytest.raises(ConfigError, match="unknown task kind 'poetry'"):
        kind_of(type("T", (), {"kind": "poetry"})())


async def test_solver_proposes_k_thoughts_in_one_call_and_keeps_failures():
    llm = ScriptedLLM(["Use a loop.", "   ", "2. Return early."])
    solver = Solver(ModelClient(llm))
    drafts = await solver.propose(code_task().view(), ["First."], 3, Budget(), seed=1)
    assert len(llm.calls) == 1 and llm.calls[0][1].n == 3 and llm.calls[0][1].seed == 1
    assert [d.answer for d in drafts] == ["Use a loop.", None, "Return early."]
    assert drafts[1].parse_error and drafts[0].steps == ["First.", "Use a loop."]


async def test_reviewer_critiques_greedily_at_the_configured_temperature():
    llm = ScriptedLLM(["Step 1 is wrong: it adds instead of multiplying."])
    reviewer = Reviewer(ModelClient(llm), AgentSettings(greedy_temperature=0.2, top_p=0.5))
    draft = Draft(text="20 + 22 = 42", answer="42", steps=["20 + 22 = 42"])
    critique = await reviewer.review(math_task().view(), draft, "wrong", None, Budget(), seed=7)
    params = llm.calls[0][1]
    assert (params.temperature, params.top_p, params.seed) == (0.2, 1.0, 7)
    assert params.max_tokens == AgentSettings().critique_max_tokens
    assert critique.wrong_step == 0


async def test_solver_math_candidate_steps_are_solution_lines():
    llm = ScriptedLLM(["20 + 22 = 42\nThe answer is \\boxed{42}"])
    (draft,) = await Solver(ModelClient(llm)).complete(
        math_task().view(), [], 1, Budget(), greedy=True
    )
    assert draft.answer == "42" and len(draft.steps) == 2
    assert llm.calls[0][1].temperature == 0.0


def test_thought_skips_preambles_and_code():
    text = "To implement this, here's a step-by-step plan:\n\n1. Reverse the string.\n2. Compare."
    assert parse_thought(text) == "Reverse the string."
    with pytest.raises(OutputParseError):
        parse_thought("Here is the code:\n```python\ndef f():\n    pass\n```")


def test_thought_passes_over_lines_without_letters_or_digits():
    assert parse_thought("---\n**\nSort the list.") == "Sort the list."
    with pytest.raises(OutputParseError):
        parse_thought("\\[\n**\n")
