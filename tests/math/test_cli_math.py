"""`ponder solve` on math: --math-mode, the sandbox it opens, and what it prints."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job, Sandbox
from tests.math.scripted import PROSE, RIGHT


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PONDER_ALLOW_SCRIPTED", "1")
    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _solve(tmp, reply: str, *args: str):
    (tmp / "replies.json").write_text(json.dumps([reply]))
    argv = ["solve", "--kind", "math", "--prompt", "What is 20 + 22?", "--strategy", "greedy"]
    argv += ["--model", f"scripted:{tmp / 'replies.json'}", "--out", str(tmp / "run"), *args]
    return CliRunner().invoke(app, argv)


def _config(tmp):
    return json.loads((tmp / "run" / "config.json").read_text())["config"]


def test_pal_runs_the_program_and_prints_its_value(env):
    result = _solve(env, RIGHT, "--math-mode", "pal", "--sandbox", "local")
    assert result.exit_code == 0, result.output
    assert "print(total)" in result.stdout and "the program printed: 42" in result.output
    saved = json.loads((env / "run" / "result.json").read_text())
    assert saved["budget"]["spent"]["sandbox_runs"] == 1
    assert _config(env)["agents"]["math_mode"] == "pal"


def test_prose_opens_no_sandbox(env, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("prose math must not open a sandbox")

    monkeypatch.setattr("ponder.sandbox.open_sandbox", refuse)
    result = _solve(env, PROSE, "--math-mode", "prose")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "42"


class BrokenSandbox(Sandbox):
    async def start(self) -> None:
        raise SandboxError("the Docker engine is not reachable", fix="start Docker")

    async def run(self, job: Job) -> ExecResult:
        raise AssertionError("never started")


def test_auto_falls_back_to_prose_without_a_sandbox_and_pal_refuses(env, monkeypatch):
    monkeypatch.setattr("ponder.sandbox.open_sandbox", lambda kind: BrokenSandbox())
    result = _solve(env, PROSE)  # auto
    assert result.exit_code == 0, result.output
    assert "solving in prose" in result.output and result.stdout.strip() == "42"
    assert _config(env)["agents"]["math_mode"] == "prose"
    (env / "run").rename(env / "first")
    refused = _solve(env, RIGHT, "--math-mode", "pal")
    assert refused.exit_code != 0 and isinstance(refused.exception, SandboxError)


def test_a_bad_math_mode_is_a_config_error(env):
    result = _solve(env, RIGHT, "--math-mode", "program")
    assert result.exit_code != 0 and "math_mode" in str(result.exception)
