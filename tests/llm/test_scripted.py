"""The scripted test double: replies in order or by function, stop sequences, call log."""

from __future__ import annotations

from ponder.errors import ConfigError
from ponder.llm import SamplingParams
from ponder.llm.scripted import ScriptedLLM

MSGS = [{"role": "user", "content": "hello there"}]


async def test_replies_in_order_and_cycle():
    llm = ScriptedLLM(["a", "b"])
    texts = [(await llm.generate(MSGS, SamplingParams())).text for _ in range(3)]
    assert texts == ["a", "b", "a"]
    gen = await llm.generate(MSGS, SamplingParams(n=3))
    assert [c.text for c in gen.completions] == ["b", "a", "b"]
    assert len(llm.calls) == 4 and llm.calls[0][0] == MSGS


async def test_function_script_sees_the_request():
    llm = ScriptedLLM(lambda msgs, p: [f"{msgs[-1]['content']}/{p.max_tokens}"])
    gen = await llm.generate(MSGS, SamplingParams(n=2, max_tokens=9))
    assert [c.text for c in gen.completions] == ["hello there/9"] * 2


async def test_stop_sequences_cut_replies():
    llm = ScriptedLLM(["answer: 42\nmore text"])
    gen = await llm.generate(MSGS, SamplingParams(stop=("\n",)))
    assert gen.text == "answer: 42" and gen.completions[0].finish_reason == "stop"
    assert gen.prompt_tokens >= 1 and gen.completion_tokens >= 1


def test_bad_sampling_params_are_config_errors():
    import pytest

    with pytest.raises(ConfigError) as err:
        SamplingParams(n=0, temperature=-1.0)
    assert "n=0" in err.value.message and "temperature=-1.0" in err.value.message
    assert SamplingParams(stop="###").stop == ("###",)
