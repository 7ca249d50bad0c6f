"""Which weight layouts the batching engine asks llama.cpp for (no model needed)."""

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
