"""Resume after kill -9: no finished work is redone, and the result equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("resume_harness.py")


def _start(mode: str, run_dir: Path, calls: Path, cache: Path, grain: str) -> subprocess.Popen:
    args = [sys.executable, str(HARNESS), mode, str(run_dir), str(calls), str(cache), grain]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _tree(run_dir: Path) -> list[tuple]:
    data = json.loads((run_dir / "tree.json").read_text())
    return sorted(
        (
            n["id"],
            n["parent"],
            n["kind"],
            n["text"],
            n["status"],
            n["visits"],
            round(n["value_sum"], 9),
        )
        for n in data["graph"]["nodes"]
    )


def _visits(run_dir: Path) -> tuple[int, int]:
    """The root's visits and the simulations the run made (thoughts with a value)."""
    data = json.loads((run_dir / "tree.json").read_text())
    nodes = data["graph"]["nodes"]
    root = next(n for n in nodes if n["parent"] is None)
    return root["visits"], sum("value" in n["meta"] for n in nodes)


@pytest.mark.parametrize("grain", ["phase", "iteration"])
def test_resume_after_kill_redoes_no_finished_work(grain, tmp_path):
    # One uninterrupted run: the reference.
    ref_dir, ref_calls = tmp_path / "ref", tmp_path / "ref_calls.txt"
    _finish(_start("new", ref_dir, ref_calls, tmp_path / "ref_cache.sqlite", grain))
    reference = _lines(ref_calls)
    assert len(reference) > 10

    # The same run, killed with SIGKILL midway, then resumed by a new process.
    run_dir, calls, cache = tmp_path / "run", tmp_path / "calls.txt", tmp_path / "cache.sqlite"
    proc = _start("new", run_dir, calls, cache, grain)
    deadline = time.monotonic() + 60
    while len(_lines(calls)) < len(reference) // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(_lines(calls))
    assert 0 < before < len(reference), "the kill landed mid-run"
    assert not (run_dir / "result.json").exists()

    _finish(_start("resume", run_dir, calls, cache, grain))
    # Every model call of the uninterrupted run happened exactly once across both processes:
    # finished phases were not redone, and the one in flight was answered from the cache.
    assert sorted(_lines(calls)) == sorted(reference)
    assert _tree(run_dir) == _tree(ref_dir)  # visit counts and values included
    visits, simulations = _visits(run_dir)
    assert visits == simulations > 3 and _visits(ref_dir) == (visits, simulations)
    result, ref = (json.loads((d / "result.json").read_text()) for d in (run_dir, ref_dir))
    assert result["resumed"] is True
    assert (result["solution"], result["iterations"], result["stop_reason"]) == (
        ref["solution"],
        ref["iterations"],
        ref["stop_reason"],
    )
    assert result["budget"]["spent"]["llm_calls"] == ref["budget"]["spent"]["llm_calls"]
    events = [json.loads(line) for line in _lines(run_dir / "events.jsonl")]
    assert [e["event"] for e in events].count("resume") == 1
