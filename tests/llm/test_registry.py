"""Model strings: the registry picks backends and refuses bad strings with a clear fix."""

from __future__ import annotations

import json

import pytest

from ponder.errors import ConfigError, ModelError
from ponder.llm import model_forms, open_model
from ponder.llm.registry import ALLOW_SCRIPTED_ENV, BACKENDS


@pytest.mark.parametrize("spec", ["gpt4", "llama:foo", "", "LOCAL", "remote:x@y"])
def test_unknown_model_string_lists_valid_forms(spec):
    with pytest.raises(ConfigError) as err:
        open_model(spec, cache=False)
    assert repr(spec.strip()) in err.value.message
    for form in ("local", "local:PATH.gguf", "openai:MODEL@URL", "vllm:PATH", "hf:PATH"):
        assert form in err.value.fix
    assert "scripted" not in err.value.fix  # the test double is never advertised


def test_forms_are_documented_and_registry_covers_them():
    forms = [f for f, _ in model_forms()]
    assert forms == [
        "local",
        "local:coder-1.5b",
        "local:PATH.gguf",
        "openai:MODEL@URL",
        "vllm:PATH",
        "hf:PATH",
    ]
    assert {f.split(":")[0] for f in forms} <= set(BACKENDS)


@pytest.mark.parametrize("spec", ["openai:", "openai:@http://127.0.0.1:1/v1", "vllm:", "hf:"])
def test_missing_argument(spec):
    with pytest.raises(ConfigError) as err:
        open_model(spec, cache=False)
    assert "write it as" in err.value.fix


def test_local_path_missing(tmp_path):
    pytest.importorskip("llama_cpp")
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError) as err:
        open_model(f"local:{missing}", cache=False)
    assert str(missing) in err.value.message


def test_local_path_not_gguf(tmp_path):
    pytest.importorskip("llama_cpp")
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelError) as err:
        open_model(f"local:{fake}", cache=False)
    assert "not a GGUF" in err.value.message


def test_openai_without_url_needs_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        open_model("openai:gpt-4o-mini", cache=False)
    assert "OPENAI_API_KEY" in err.value.fix


def test_openai_spec_parses_model_and_url():
    client = open_model("openai:qwen@http://127.0.0.1:8080/v1", cache=False)
    assert client.llm.model == "qwen"
    assert client.llm.base_url == "http://127.0.0.1:8080/v1"
    assert client.name == "openai:qwen@http://127.0.0.1:8080/v1"
    assert client.batches


def test_unknown_backend_option():
    with pytest.raises(ConfigError) as err:
        open_model("openai:m@http://127.0.0.1:1/v1", cache=False, n_gpu_layerz=3)
    assert "n_gpu_layerz" in err.value.message


def test_scripted_refused_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv(ALLOW_SCRIPTED_ENV, raising=False)
    f = tmp_path / "r.json"
    f.write_text(json.dumps(["x"]))
    with pytest.raises(ConfigError) as err:
        open_model(f"scripted:{f}", cache=False)
    assert "test" in err.value.message


async def test_scripted_from_file(monkeypatch, tmp_path):
    monkeypatch.setenv(ALLOW_SCRIPTED_ENV, "1")
    f = tmp_path / "r.json"
    f.write_text(json.dumps(["one", "two"]))
    from ponder.llm import SamplingParams

    client = open_model(f"scripted:{f}", cache=False)
    gen = await client.generate([{"role": "user", "content": "hi"}], SamplingParams(n=3))
    assert [c.text for c in gen.completions] == ["one", "two", "one"]


@pytest.mark.parametrize("content", ["{not json", json.dumps({"a": 1}), json.dumps([1, 2])])
def test_scripted_bad_file(monkeypatch, tmp_path, content):
    monkeypatch.setenv(ALLOW_SCRIPTED_ENV, "1")
    f = tmp_path / "r.json"
    f.write_text(content)
    with pytest.raises(ConfigError) as err:
        open_model(f"scripted:{f}", cache=False)
    assert str(f) in err.value.message


def test_importing_the_layer_loads_no_backend_library():
    import subprocess
    import sys

    code = (
        "import sys, ponder.llm; "
        "print(sorted(m for m in ('llama_cpp', 'torch', 'transformers', 'vllm', 'openai') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("spec", "module", "fix"),
    [
        ("local", "llama_cpp", "ponder[local]"),
        ("hf:/nonexistent", "transformers", "ponder[prm]"),
        ("vllm:/nonexistent", "vllm", "ponder[vllm]"),
    ],
)
def test_missing_engine_library_names_the_extra(monkeypatch, spec, module, fix):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ConfigError) as err:
        open_model(spec, cache=False)
    assert module.split("_")[0] in err.value.message.replace("-", "_")
    assert fix in err.value.fix
