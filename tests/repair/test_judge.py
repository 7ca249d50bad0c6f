"""The patch judge's pieces: the signed event stream, per-test outcomes, the signed verdict."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from ponder.repair.judge import driver
from ponder.repair.judging import MARK, judge_run, read_verdict

KEY = b"k" * 32


def line(seq: int, event: dict, key: bytes = KEY) -> bytes:
    head = f"{seq}\t{json.dumps(event)}"
    mac = hmac.new(key, head.encode(), hashlib.sha256).hexdigest()
    return f"{head}\t{mac}\n".encode()


def test_signed_events_in_order_are_accepted():
    raw = line(0, {"kind": "hello"}) + line(1, {"kind": "finish"})
    events, problems = driver.check_events(raw, KEY)
    assert [e["kind"] for e in events] == ["hello", "finish"] and problems == []


def test_forged_replayed_and_cut_events_are_problems():
    forged = line(0, {"kind": "hello"}) + line(1, {"kind": "x"}, key=b"other") + b"junk\n"
    events, problems = driver.check_events(forged + line(1, {"kind": "finish"}), KEY)
    assert len(events) == 2 and len(problems) == 2 and "not signed" in problems[0]
    replay = line(0, {"kind": "hello"}) + line(0, {"kind": "hello"})
    assert "sequence number 0" in driver.check_events(replay, KEY)[1][0]
    assert "partial line" in driver.check_events(line(0, {"kind": "a"})[:-1], KEY)[1][-1]


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (
            {"setup": ("passed", False), "call": ("passed", False), "teardown": ("passed", False)},
            "passed",
        ),
        (
            {"setup": ("passed", False), "call": ("failed", False), "teardown": ("passed", False)},
            "failed",
        ),
        ({"setup": ("failed", False), "teardown": ("passed", False)}, "error"),
        (
            {"setup": ("passed", False), "call": ("passed", False), "teardown": ("failed", False)},
            "error",
        ),
        ({"setup": ("skipped", False), "teardown": ("passed", False)}, "skipped"),
        (
            {"setup": ("passed", False), "call": ("skipped", True), "teardown": ("passed", False)},
            "xfailed",
        ),
        (
            {"setup": ("passed", False), "call": ("passed", True), "teardown": ("passed", False)},
            "xpassed",
        ),
        ({"setup": ("passed", False), "call": ("passed", False)}, "incomplete"),
    ],
)
def test_outcome_of_the_phases(phases, expected):
    assert driver.outcome(phases) == expected


def test_summary_flags_a_second_report_for_one_phase():
    report = {"kind": "report", "nodeid": "t.py::a", "when": "call", "outcome": "passed"}
    seen = driver.summarize([{"kind": "hello"}, report, report])
    assert seen["tamper"] and seen["hello"]


def test_only_the_signed_verdict_line_is_a_verdict():
    run = judge_run("pytest", "/judge", 10)
    settings = json.loads(run.stdin)
    assert bytes.fromhex(settings["key"]) == run.key and settings["plugin"] in "".join(run.files)
    body = json.dumps({"hello": True, "tests": {"t.py::a": "passed"}})
    mac = hmac.new(run.key, body.encode(), hashlib.sha256).hexdigest()
    good = f"noise\n{MARK}{body}\t{mac}\n"
    verdict, _ = read_verdict(good, run.key)
    assert verdict is not None and verdict.tests == {"t.py::a": "passed"}
    assert read_verdict("1 passed\n", run.key)[0] is None
    assert "signature" in read_verdict(f"{MARK}{body}\t{'0' * 64}\n", run.key)[1]
    assert "more than one" in read_verdict(good + good, run.key)[1]
    assert read_verdict(good, b"x" * 32)[0] is None  # another run's key


def test_each_run_gets_a_fresh_key_and_plugin_name():
    a, b = judge_run("pytest", "/j", 10), judge_run("pytest", "/j", 10)
    assert a.key != b.key and set(a.files) != set(b.files)


def test_repository_tar_gives_tests_and_test_config_to_root(tmp_path):
    """In a container the test process (uid 10001) cannot change, add or replace test files."""
    import io
    import tarfile

    from ponder.repair.testing import protected_in_run
    from ponder.sandbox.docker_deployment import tar_tree

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").write_text("x = 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_core.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "setup.cfg").write_text("[metadata]\n")
    with tarfile.open(fileobj=io.BytesIO(tar_tree(tmp_path, 10001, protected_in_run))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["pkg/core.py"].uid == 10001
    for name in ("tests/test_core.py", "setup.cfg"):
        assert members[name].uid == 0 and not members[name].mode & 0o222
    assert members["tests"].uid == 0 and members["tests"].mode == 0o555  # sealed
    assert members["."].uid == 0 and members["."].mode == 0o1777  # sticky: add, never replace
