"""The judge verifier with the real embedded model (slow): P("yes") comes from logprobs."""

from __future__ import annotations

import pytest

from ponder.task import VisibleTask
from ponder.verifiers import Candidate, get_verifier

pytestmark = pytest.mark.slow

TASK = VisibleTask(
    id="add",
    kind="code",
    prompt="Write a Python function add(a, b) that returns the sum of a and b.",
    entry_point="add",
)
RIGHT = Candidate(text="def add(a, b):\n    return a + b\n")
WRONG = Candidate(text="def add(a, b):\n    return a - b\n")


@pytest.fixture(scope="module")
def model():
    pytest.importorskip("llama_cpp", reason="needs pip install 'ponder[local]'")
    from ponder.llm import open_model
    from ponder.llm.embedded import embedded_model_status

    if not embedded_model_status().present and embedded_model_status().missing_parts:
        pytest.skip("the embedded model's parts are not installed")
    return open_model("local", cache=False, logits_all=True)


async def test_judge_reads_p_yes_from_logprobs(model) -> None:
    right, wrong = await get_verifier("judge", model=model).verify(TASK, [RIGHT, WRONG])
    assert right.details["method"] == wrong.details["method"] == "logprobs"
    assert 0.0 < wrong.score < right.score < 1.0  # measured: 0.50 vs 0.36
