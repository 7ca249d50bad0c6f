"""The local backend's batching engine with the real embedded model (slow)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ponder.errors import ConfigError, ModelError
from ponder.llm import SamplingParams, create_llm

pytestmark = pytest.mark.slow

ANIMAL = [{"role": "user", "content": "Name a random animal and describe it."}]


def _ask(question: str) -> list[dict]:
    return [{"role": "user", "content": question + " Answer in one word."}]


def _task(tail: str) -> list[dict]:
    body = "\n".join(f"    total = total + values[{i}] * {i % 5}" for i in range(30))
    code = f"def accumulate(values):\n    total = 0\n{body}\n    return total\n"
    return [{"role": "user", "content": f"Here is some code:\n{code}\n{tail}"}]


@pytest.fixture
async def llm(embedded_gguf) -> AsyncIterator:
    model = create_llm("local", n_ctx=1024)
    yield model
    await model.aclose()


async def test_reports_that_it_batches(llm):
    assert llm.batches is True and llm.max_concurrency > 1
    sequential = create_llm("local", batching=False)
    assert sequential.batches is False and sequential.max_concurrency == 1


async def test_n_samples_decode_together(llm):
    params = SamplingParams(n=4, max_tokens=12, temperature=1.0, seed=7)
    gen = await llm.generate(ANIMAL, params)
    assert len(gen.completions) == 4
    for c in gen.completions:
        assert c.finish_reason in {"stop", "length"}
        assert 1 <= c.completion_tokens <= 12
        assert c.finish_reason == "stop" or c.completion_tokens == 12
    assert len({c.text for c in gen.completions}) > 1  # distinct seeds, distinct samples
    assert llm.stats.max_sequences_seen >= 4  # they were decoded in one batch
    assert llm.stats.prompt_evaluated < 2 * gen.prompt_tokens  # the prompt once, not 4 times


async def test_seeded_calls_replay(embedded_gguf):
    params = SamplingParams(n=3, max_tokens=10, temperature=1.2, seed=1234)
    texts = []
    for _ in range(2):  # two fresh engines: the same calls give the same texts
        llm = create_llm("local", n_ctx=1024)
        first = await llm.generate(ANIMAL, params)
        evaluated = llm.stats.prompt_evaluated
        again = await llm.generate(ANIMAL, params)  # the whole prompt comes from the cache
        assert llm.stats.prompt_evaluated == evaluated
        await llm.aclose()
        texts.append([c.text for c in first.completions + again.completions])
    assert texts[0] == texts[1]
    assert texts[0][:3] == texts[0][3:]


async def test_greedy_n_returns_copies(llm):
    gen = await llm.generate(
        _ask("What is the capital of France?"), SamplingParams(n=3, max_tokens=4)
    )
    assert len(gen.completions) == 3 and len({c.text for c in gen.completions}) == 1
    assert "paris" in gen.text.lower()


async def test_concurrent_calls_each_get_their_answer(llm):
    questions = {
        "What is the capital of France?": "paris",
        "What is the capital of Japan?": "tokyo",
        "What is the capital of Italy?": "rome",
        "What colour is the sky on a clear day?": "blue",
    }
    params = SamplingParams(max_tokens=5)
    gens = await asyncio.gather(*(llm.generate(_ask(q), params) for q in questions))
    for gen, expected in zip(gens, questions.values(), strict=True):
        assert expected in gen.text.lower()
    assert llm.stats.max_sequences_seen >= 2
    alone = await llm.generate(_ask("What is the capital of Japan?"), params)
    assert alone.text == gens[1].text


async def test_stop_strings_per_request(llm):
    numbers = [{"role": "user", "content": "List the numbers 1 to 5, one per line, nothing else."}]
    stopped, free = await asyncio.gather(
        llm.generate(numbers, SamplingParams(max_tokens=20, stop=("3",))),
        llm.generate(numbers, SamplingParams(max_tokens=20)),
    )
    assert "3" not in stopped.text and "2" in stopped.text
    assert stopped.completions[0].finish_reason == "stop"
    assert "3" in free.text


async def test_context_overflow_fails_only_its_request(embedded_gguf):
    llm = create_llm("local", n_ctx=256)
    try:
        too_long = [{"role": "user", "content": "word " * 400}]
        results = await asyncio.gather(
            llm.generate(too_long, SamplingParams(max_tokens=4)),
            llm.generate(_ask("What is the capital of France?"), SamplingParams(max_tokens=4)),
            return_exceptions=True,
        )
        assert isinstance(results[0], ConfigError) and "context of 256" in str(results[0])
        assert "paris" in results[1].text.lower()
        # A prompt that fits but leaves little room ends with "length" at the context's end.
        near = [{"role": "user", "content": "word " * 225}]
        gen = await llm.generate(near, SamplingParams(max_tokens=200))
        c = gen.completions[0]
        assert gen.prompt_tokens + c.completion_tokens <= 256
    finally:
        await llm.aclose()


async def test_prefix_cache_hit_skips_the_shared_prompt(embedded_gguf):
    warm = create_llm("local", n_ctx=1024)
    cold = create_llm("local", n_ctx=1024, prefix_cache=False)
    try:
        params = SamplingParams(max_tokens=24)
        await warm.generate(_task("What does this function return?"), params)
        before = warm.stats.prompt_evaluated
        hit = await warm.generate(_task("Rename the variable total."), params)
        evaluated = warm.stats.prompt_evaluated - before
        assert evaluated < hit.prompt_tokens / 3
        miss = await cold.generate(_task("Rename the variable total."), params)
        assert cold.stats.prompt_evaluated == miss.prompt_tokens
        assert hit.text == miss.text  # greedy: the reused KV gives the cold call's answer
    finally:
        await warm.aclose()
        await cold.aclose()


async def test_sequential_path_still_serves(embedded_gguf):
    llm = create_llm("local", batching=False, n_ctx=512)
    try:
        gen = await llm.generate(
            _ask("What is the capital of France?"), SamplingParams(max_tokens=4)
        )
        assert "paris" in gen.text.lower() and llm.stats is None
    finally:
        await llm.aclose()


async def test_a_broken_gguf_fails_the_call_clearly(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    llm = create_llm(f"local:{broken}")
    with pytest.raises(ModelError) as err:
        await llm.generate(ANIMAL, SamplingParams(max_tokens=2))
    assert str(broken) in err.value.message
    await llm.aclose()


async def test_more_requests_than_sequence_slots_all_get_answers(embedded_gguf):
    """Requests admitted while earlier prompts are still being evaluated (one batch holds a
    few prompts) must not take the seq ids those prompts' samples fork into later; with the
    prefix cache keeping finished prompts' ids, that once emptied the id pool and failed every
    live request (`IndexError: pop from empty list`)."""
    llm = create_llm("local", n_ctx=512)
    try:
        questions = [_ask(f"What is {i} plus {i + 7}? Show the sum.") for i in range(40)]
        gens = await asyncio.gather(
            *(llm.generate(q, SamplingParams(max_tokens=2)) for q in questions)
        )
        assert len(gens) == 40 and all(g.completions[0].completion_tokens >= 1 for g in gens)
        assert llm.stats.requests == 40
    finally:
        await llm.aclose()
