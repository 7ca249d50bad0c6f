"""`ponder sandbox exec|build` through the real CLI app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app

runner = CliRunner()


def test_exec_local_json_from_stdin(tmp_path) -> None:
    stdin = tmp_path / "in.txt"
    stdin.write_text("41\n")
    result = runner.invoke(
        app,
        ["sandbox", "exec", "-", "--stdin", str(stdin), "--json", "--sandbox", "local"],
        input="print(int(input()) + 1)\n",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok"
    assert payload["stdout"] == "42\n"
    assert "NOT isolated" in payload["note"]


def test_exec_failure_sets_the_exit_status(tmp_path) -> None:
    program = tmp_path / "fail.py"
    program.write_text("import sys\nsys.exit(4)\n")
    result = runner.invoke(app, ["sandbox", "exec", str(program), "--sandbox", "local"])
    assert result.exit_code == 4


def test_exec_unknown_sandbox_kind_is_a_config_error(tmp_path) -> None:
    program = tmp_path / "ok.py"
    program.write_text("print(1)\n")
    result = runner.invoke(app, ["sandbox", "exec", str(program), "--sandbox", "cloud"])
    assert result.exit_code != 0
    assert "unknown sandbox kind 'cloud'" in str(result.exception)


@pytest.mark.docker
def test_exec_in_docker_with_timeout(tmp_path, sandbox_image) -> None:
    program = tmp_path / "spin.py"
    program.write_text("while True:\n    pass\n")
    result = runner.invoke(app, ["sandbox", "exec", str(program), "--timeout", "1", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "timeout"


@pytest.mark.docker
def test_build_skips_a_present_image(sandbox_image) -> None:
    result = runner.invoke(app, ["sandbox", "build", "--offline", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == sandbox_image
