"""`ponder check SOLUTION --tests TESTS`: exit codes, JSON shape, bad input (local and Docker)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app

runner = CliRunner()
SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = (
    "import math\n"
    "assert add(1, 2) == 3\n"
    "def test_floats():\n    assert math.isclose(add(0.1, 0.2), 0.3)\n"
    "assert add(2, 2) == 5\n"
)


def write(tmp_path, solution: str = SOLUTION, tests: str = TESTS):
    (tmp_path / "sol.py").write_text(solution)
    (tmp_path / "tests.py").write_text(tests)
    return str(tmp_path / "sol.py"), str(tmp_path / "tests.py")


def check(*args: str):
    return runner.invoke(app, ["check", *args])


def test_json_lists_every_test_and_exit_1_when_one_fails(tmp_path) -> None:
    sol, tests = write(tmp_path)
    result = check(sol, "--tests", tests, "--json", "--sandbox", "local")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert (payload["all_passed"], payload["passed"], payload["total"]) == (False, 2, 3)
    assert [t["passed"] for t in payload["tests"]] == [True, True, False]
    assert payload["tests"][2]["error_type"] == "AssertionError"


def test_exit_0_when_all_pass_and_cheats_fail(tmp_path) -> None:
    sol, tests = write(tmp_path, tests="assert add(1, 2) == 3\n")
    assert check(sol, "--tests", tests, "--sandbox", "local").exit_code == 0
    cheat = (
        "class Y:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return Y()\n"
    )
    sol, tests = write(tmp_path, solution=cheat, tests="assert add(1, 2) == 3\n")
    assert check(sol, "--tests", tests, "--sandbox", "local").exit_code == 1


@pytest.mark.parametrize(
    ("solution", "tests", "needle"),
    [
        (None, TESTS, "cannot read SOLUTION"),
        (SOLUTION, "assert add(1,\n", "not valid Python"),
        (SOLUTION, "", "holds no tests"),
    ],
)
def test_bad_input_is_exit_2_with_a_fix(tmp_path, solution, tests, needle) -> None:
    sol, test_file = write(tmp_path, solution or "", tests)
    if solution is None:
        sol = str(tmp_path / "missing.py")
    result = check(sol, "--tests", test_file, "--sandbox", "local")
    assert result.exit_code == 2, result.output
    assert needle in result.output and "fix:" in result.output


@pytest.mark.docker
def test_docker_is_the_default_sandbox(tmp_path, sandbox_image) -> None:
    sol, tests = write(tmp_path)
    result = check(sol, "--tests", tests, "--json", "--timeout", "3")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["passed"] == 2
