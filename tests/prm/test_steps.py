import math

import pytest

from ponder.errors import ConfigError
from ponder.prm.steps import aggregate, code_steps, split_steps


def test_split_lines_drops_blank_lines():
    assert split_steps("a = 1\n\n  b = 2  \nc", "lines") == ["a = 1", "b = 2", "c"]


def test_split_blocks_keeps_multiline_blocks():
    text = "First we add.\n3 + 4 = 7\n\nThen we double.\n7 * 2 = 14\n \nThe answer is 14."
    assert split_steps(text, "blocks") == [
        "First we add.\n3 + 4 = 7",
        "Then we double.\n7 * 2 = 14",
        "The answer is 14.",
    ]


def test_split_step_k_headers_with_preamble_and_markdown():
    text = "Let's solve it.\nStep 1: add 3 and 4.\nstill step one\n**Step 2.** double it\n### Step 3) done"
    assert split_steps(text, "step_k") == [
        "Let's solve it.",
        "Step 1: add 3 and 4.\nstill step one",
        "**Step 2.** double it",
        "### Step 3) done",
    ]


def test_auto_prefers_step_headers_then_blocks_then_lines():
    assert len(split_steps("Step 1: a\nStep 2: b", "auto")) == 2
    assert split_steps("x\ny\n\nz", "auto") == ["x\ny", "z"]
    assert split_steps("x\ny\nz", "auto") == ["x", "y", "z"]


def test_empty_text_is_one_empty_step():
    assert split_steps("", "lines") == [""]


def test_unknown_mode_names_choices():
    with pytest.raises(ConfigError, match="unknown step split mode 'sentences'") as err:
        split_steps("a", "sentences")
    assert "step_k" in err.value.fix


def test_code_steps_put_program_last():
    assert code_steps(["plan: loop", " ", "edge: empty"], "def f(): pass") == [
        "plan: loop",
        "edge: empty",
        "def f(): pass",
    ]


@pytest.mark.parametrize(
    ("how", "expected"), [("min", 0.2), ("last", 0.5), ("prod", 0.9 * 0.2 * 0.5), ("mean", 1.6 / 3)]
)
def test_aggregations(how, expected):
    assert math.isclose(aggregate([0.9, 0.2, 0.5], how), expected)


def test_aggregate_rejects_unknown_and_empty():
    with pytest.raises(ConfigError, match="unknown step-score aggregation 'max'"):
        aggregate([0.5], "max")
    with pytest.raises(ConfigError, match="no step scores"):
        aggregate([], "min")
