"""Shared fixtures: tiny random transformers models written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    from tests.prm.tiny import save_tiny

    root = tmp_path_factory.mktemp("tiny-prm")
    return {kind: save_tiny(root / kind, kind) for kind in ("base", "causal", "token-classify")}
