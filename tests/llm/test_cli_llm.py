"""`ponder generate` and `ponder model` in a subprocess, on the scripted double or real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def ponder(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from ponder.cli import main; main()", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def scripted_env(tmp_path) -> tuple[dict[str, str], Path]:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["first reply", "second reply"]))
    env = {"PONDER_ALLOW_SCRIPTED": "1", "PONDER_CACHE_DIR": str(tmp_path / "cache")}
    return env, replies


def test_generate_json_then_cached_then_no_cache(scripted_env):
    env, replies = scripted_env
    model = f"scripted:{replies}"
    first = ponder("generate", "hi", "--model", model, "--json", env=env)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["completions"][0]["text"] == "first reply" and out["cached"] is False
    assert out["completion_tokens"] == out["completions"][0]["completion_tokens"] >= 1
    second = json.loads(ponder("generate", "hi", "--model", model, "--json", env=env).stdout)
    assert second["cached"] is True and second["completions"] == out["completions"]
    fresh = ponder("generate", "hi", "--model", model, "--json", "--no-cache", env=env)
    assert json.loads(fresh.stdout)["cached"] is False


def test_generate_plain_text_shows_each_completion(scripted_env):
    env, replies = scripted_env
    res = ponder(
        "generate", "hi", "-m", f"scripted:{replies}", "-n", "2", "--temperature", "0.5", env=env
    )
    assert res.returncode == 0, res.stderr
    assert "first reply" in res.stdout and "second reply" in res.stdout
    assert "completion 2/2" in res.stdout and "tokens" in res.stdout


def test_unknown_model_prints_error_and_fix(tmp_path):
    res = ponder("generate", "hi", "--model", "gpt-5", env={"PONDER_CACHE_DIR": str(tmp_path)})
    assert res.returncode == 2
    assert "unknown model string 'gpt-5'" in res.stderr and "openai:MODEL@URL" in res.stderr


def test_bad_sampling_option_prints_error(scripted_env):
    env, replies = scripted_env
    res = ponder("generate", "hi", "--model", f"scripted:{replies}", "--n", "0", env=env)
    assert res.returncode == 2 and "n=0" in res.stderr


def test_model_status_reports_missing_file(tmp_path):
    res = ponder("model", "status", "--json", env={"PONDER_CACHE_DIR": str(tmp_path)})
    assert res.returncode == 1
    st = json.loads(res.stdout)
    assert st["path"].startswith(str(tmp_path)) and st["present"] is False and st["fix"]


@pytest.mark.slow
def test_generate_with_the_embedded_model(embedded_gguf):
    res = ponder(
        "generate",
        "What is the capital of France? One word.",
        "--max-tokens",
        "4",
        "--no-cache",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "paris" in out["completions"][0]["text"].lower() and out["model"] == "local"


@pytest.mark.slow
def test_model_fetch_prints_verified_path(embedded_gguf):
    res = ponder("model", "fetch")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()) == embedded_gguf
