"""Which weight layouts Ponder asks llama.cpp for, and what it says on an AMX build (no model)."""

from __future__ import annotations

import logging

import pytest

from ponder import provenance
from ponder.llm.llamacpp.native import use_repacked_layouts


def test_repacked_layouts_stay_on_without_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "llama_cpu_features", lambda: "AVX2 FMA AVX512 REPACK")
    assert use_repacked_layouts(True) is True
    assert use_repacked_layouts(False) is False


def test_an_amx_build_loads_without_them_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # llama.cpp's AMX layout crashes the process on some AMX CPUs (ggml-org/llama.cpp#20824).
    monkeypatch.setattr(provenance, "llama_cpu_features", lambda: "AVX512 AMX_INT8 REPACK")
    with caplog.at_level(logging.WARNING):
        assert use_repacked_layouts(True) is False
    assert "AMX" in caplog.text and "make install" in caplog.text
    assert use_repacked_layouts(False) is False


def test_the_sequential_path_warns_on_an_amx_build(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    from ponder.llm.llamacpp.sequential import SequentialLlama

    loaded: list[dict] = []
    monkeypatch.setattr(provenance, "llama_cpu_features", lambda: "AVX512 AMX_INT8")
    seq = SequentialLlama(
        lambda **kw: loaded.append(kw) or object(),
        tmp_path / "m.gguf",
        "local:m",
        n_ctx=512,
        logits_all=False,
        top_logprobs=5,
        reuse_prefix=False,
        llama_opts={},
    )
    with caplog.at_level(logging.WARNING):
        seq._load()
    assert len(loaded) == 1  # still loads: AMX works on many CPUs
    assert "AMX" in caplog.text and "local:m" in caplog.text
