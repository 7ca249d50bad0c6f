"""`ponder repair` survives kill -9: `--resume` finishes the run with no finished work redone
and the same tree as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HARNESS = Path(__file__).with_name("repair_harness.py")


def _start(mode: str, run_dir: Path, calls: Path, cache: Path) -> subprocess.Popen:
    args = [sys.executable, str(HARNESS), mode, str(run_dir), str(calls), str(cache)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _tree(run_dir: Path) -> list[tuple]:
    data = json.loads((run_dir / "tree.json").read_text())
    return sorted(
        (n["id"], n["parent"], n["kind"], n["text"], n["status"], n["visits"])
        for n in data["graph"]["nodes"]
    )


def test_repair_resumes_after_kill_9(tmp_path):
    ref_dir, ref_calls = tmp_path / "ref", tmp_path / "ref_calls.txt"
    _finish(_start("new", ref_dir, ref_calls, tmp_path / "ref_cache.sqlite"))
    reference = _lines(ref_calls)
    assert len(reference) >= 4  # localize, expansions, reviews, the revision

    run_dir, calls, cache = tmp_path / "run", tmp_path / "calls.txt", tmp_path / "cache.sqlite"
    proc = _start("new", run_dir, calls, cache)
    deadline = time.monotonic() + 120
    # Kill once the root's expansion is stored: its candidates' test runs are under way.
    while len(_lines(calls)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(_lines(calls))
    assert 0 < before < len(reference), "the kill landed mid-run"
    assert not (run_dir / "result.json").exists()

    printed = _finish(_start("resume", run_dir, calls, cache))
    assert "inventory/query.py" in printed  # the patch is printed
    # Every model call happened once across both processes (a redone phase is answered by
    # the response cache), and the tree is the uninterrupted run's.
    assert sorted(_lines(calls)) == sorted(reference)
    assert _tree(run_dir) == _tree(ref_dir)
    result, ref = (json.loads((d / "result.json").read_text()) for d in (run_dir, ref_dir))
    assert result["resumed"] is True and result["passed_public"] is True
    assert result["solution"] == ref["solution"] and result["grade"]["correct"] is True
    assert (run_dir / "patch.diff").read_text() == ref["solution"]
    events = [json.loads(line) for line in _lines(run_dir / "events.jsonl")]
    assert [e["event"] for e in events].count("resume") == 1
