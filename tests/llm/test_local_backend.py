"""The local backend with the real embedded model (slow: loads a 491 MB GGUF once)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ponder.budget import Budget
from ponder.llm import ModelClient, SamplingParams, open_model

pytestmark = pytest.mark.slow

CAPITAL = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def local_client(embedded_gguf) -> ModelClient:
    return open_model("local", cache=False)


@pytest.fixture
async def logprob_client(embedded_gguf) -> AsyncIterator[ModelClient]:
    client = open_model("local", cache=False, logits_all=True, n_ctx=256)
    yield client
    await client.aclose()


async def test_greedy_answer_and_accounting(local_client):
    budget = Budget()
    gen = await local_client.generate(CAPITAL, SamplingParams(max_tokens=6), budget)
    c = gen.completions[0]
    assert "paris" in c.text.lower()
    assert gen.model == "local" and not gen.cached
    assert gen.prompt_tokens > 10 and 1 <= c.completion_tokens <= 6
    assert c.finish_reason in {"stop", "length"} and c.logprobs is None
    assert budget.spent.llm_calls == 1
    assert budget.spent.completion_tokens == c.completion_tokens
    assert budget.spent.prompt_tokens == gen.prompt_tokens


async def test_max_tokens_cuts_with_length(local_client):
    prompt = [{"role": "user", "content": "Write a long poem about the sea."}]
    gen = await local_client.generate(prompt, SamplingParams(max_tokens=3))
    assert gen.completions[0].finish_reason == "length"
    assert gen.completions[0].completion_tokens == 3


async def test_seeded_samples_are_distinct_and_reproducible(local_client):
    prompt = [{"role": "user", "content": "Name a random animal."}]
    params = SamplingParams(n=3, max_tokens=4, temperature=1.5, seed=1234)
    first = await local_client.generate(prompt, params)
    again = await local_client.generate(prompt, params)
    texts = [c.text for c in first.completions]
    assert len(texts) == 3
    assert texts == [c.text for c in again.completions]
    other = await local_client.generate(
        prompt, SamplingParams(n=3, max_tokens=4, temperature=1.5, seed=99)
    )
    assert texts != [c.text for c in other.completions]


async def test_stop_sequence(local_client):
    prompt = [{"role": "user", "content": "List the numbers 1 to 5, one per line, nothing else."}]
    gen = await local_client.generate(prompt, SamplingParams(max_tokens=20, stop=("3",)))
    assert "3" not in gen.text and "4" not in gen.text
    assert gen.completions[0].finish_reason == "stop"


async def test_logprobs_when_logits_are_kept(logprob_client):
    gen = await logprob_client.generate(CAPITAL, SamplingParams(max_tokens=3, logprobs=True))
    lps = gen.completions[0].logprobs
    assert lps is not None and len(lps) == gen.completions[0].completion_tokens
    assert all(lp.logprob <= 0.0 for lp in lps)
    assert "".join(lp.token for lp in lps) == gen.text
    assert max(lps[0].top.values()) == pytest.approx(lps[0].logprob)  # greedy picks the top token
