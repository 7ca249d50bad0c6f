"""The hf backend on a tiny randomly initialised causal LM that the test writes (no hub access)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.errors import ModelError
from ponder.llm import SamplingParams, open_model
from tests.llm.tiny_model import write_tiny_model

torch = pytest.importorskip("torch", reason="needs pip install 'ponder[prm]'")
transformers = pytest.importorskip("transformers", reason="needs pip install 'ponder[prm]'")

MSGS = [{"role": "user", "content": "write add(a, b)"}]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def client(tiny_model):
    return open_model(f"hf:{tiny_model}", cache=False, device="cpu")


async def test_greedy_generation_and_counts(client):
    gen = await client.generate(MSGS, SamplingParams(n=2, max_tokens=8))
    a, b = gen.completions
    assert a == b  # greedy: one sequence serves both
    assert a.finish_reason in {"stop", "length"} and 1 <= a.completion_tokens <= 8
    assert gen.prompt_tokens > 5 and gen.model.startswith("hf:")
    again = await client.generate(MSGS, SamplingParams(max_tokens=8))
    assert again.text == a.text


async def test_seeded_sampling_reproduces(client):
    params = SamplingParams(n=3, max_tokens=10, temperature=1.0, seed=7)
    first = await client.generate(MSGS, params)
    again = await client.generate(MSGS, params)
    assert len(first.completions) == 3
    assert [c.text for c in first.completions] == [c.text for c in again.completions]
    texts = {c.text for c in first.completions}
    assert len(texts) > 1  # a random model at temperature 1 does not repeat itself


async def test_stop_string_cuts_the_text(client):
    full = (await client.generate(MSGS, SamplingParams(max_tokens=24))).text
    if len(full) < 6:
        pytest.skip(f"the random model said too little to place a stop string: {full!r}")
    stop = full[3:5]
    cut = await client.generate(MSGS, SamplingParams(max_tokens=24, stop=(stop,)))
    assert cut.text == full[: full.index(stop)]
    assert cut.completions[0].finish_reason == "stop"


async def test_logprobs(client):
    gen = await client.generate(MSGS, SamplingParams(max_tokens=5, logprobs=True))
    c = gen.completions[0]
    assert c.logprobs is not None and len(c.logprobs) == c.completion_tokens
    assert all(lp.logprob <= 0.0 for lp in c.logprobs)
    assert max(c.logprobs[0].top.values()) == pytest.approx(c.logprobs[0].logprob)  # greedy


async def test_missing_directory_is_a_model_error(tmp_path):
    client = open_model(f"hf:{tmp_path / 'nope'}", cache=False, device="cpu")
    with pytest.raises(ModelError) as err:
        await client.generate(MSGS, SamplingParams(max_tokens=2))
    assert "nope" in err.value.message and "--model hf:DIR" in err.value.fix
