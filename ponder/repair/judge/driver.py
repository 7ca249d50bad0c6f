"""The patch judge: runs a test command with the judge plug-in and prints one signed verdict.

Runs as `python3 -I driver.py` in the repository copy, in the sandbox, outside the test process.
Stdlib only. Reads its settings as JSON on stdin (the host's key among them), so nothing the
repository's code can read names the key; makes itself non-dumpable, so a process of the same
user cannot read its memory or open its file descriptors through /proc; starts the test command
with stdin closed and stdout/stderr piped to itself, a fresh event pipe and a fresh plug-in key;
checks every event's signature and sequence; and prints exactly one line:
`PONDER-JUDGE <json> <TAB> hmac-sha256(host key, json)`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time

PR_SET_DUMPABLE = 4
MARK = "PONDER-JUDGE "


def undumpable() -> bool:
    """PR_SET_DUMPABLE 0: same-user processes lose /proc/<pid>/mem, fd/ and ptrace on us."""
    if not sys.platform.startswith("linux"):
        return True  # no /proc to read us through
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def read_all(fd: int, sink: list[bytes], limit: int) -> None:
    size = 0
    with os.fdopen(fd, "rb", buffering=0) as stream:
        while chunk := stream.read(65536):
            if size < limit:
                sink.append(chunk[: limit - size])
            size += len(chunk)
    if size > limit:
        sink.append(f"\n[... {size - limit} more bytes of output cut]\n".encode())


def check_events(raw: bytes, key: bytes) -> tuple[list[dict], list[str]]:
    """The signed events in order, and what was wrong with the stream (first few only)."""
    events, problems, bad = [], [], 0
    for number, line in enumerate(raw.split(b"\n")[:-1] if raw else []):
        try:
            seq, body, mac = line.decode().split("\t")
        except (ValueError, UnicodeDecodeError):
            seq, body, mac = "", "", ""
        want = hmac.new(key, f"{seq}\t{body}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, mac):
            bad += 1
            if bad <= 3:
                problems.append(f"event line {number}: not signed by the judge's plug-in")
            continue
        if seq != str(len(events)):  # a replayed or reordered event
            problems.append(f"event line {number}: sequence number {seq}, not {len(events)}")
            break
        events.append(json.loads(body))
    if bad > 3:
        problems.append(f"{bad - 3} more unsigned event lines")
    if raw and not raw.endswith(b"\n"):
        problems.append("the event stream ends in a partial line")
    return events, problems


def outcome(phases: dict[str, tuple[str, bool]]) -> str:
    """One test's outcome from its setup/call/teardown reports (outcome, xfail flag)."""
    states = {when: out for when, (out, _) in phases.items()}
    xfail = any(flag for _, flag in phases.values())
    if states.get("call") == "failed":
        return "failed"
    if "failed" in states.values():
        return "error"
    if "skipped" in states.values():
        return "xfailed" if xfail else "skipped"
    if states.get("call") == "passed" and xfail:
        return "xpassed"
    if all(states.get(when) == "passed" for when in ("setup", "call", "teardown")):
        return "passed"
    return "incomplete"


def summarize(events: list[dict]) -> dict:
    """Per-test outcomes and what the plug-in saw, from the checked events."""
    phases: dict[str, dict[str, tuple[str, bool]]] = {}
    seen: dict = {"deselected": [], "collect_errors": [], "tamper": [], "taint": []}
    seen.update(hello=False, collected=None, finish=None)
    for event in events:
        kind = event.get("kind")
        if kind == "report":
            mine = phases.setdefault(str(event["nodeid"]), {})
            if event["when"] in mine:  # a second report for one phase: not pytest's doing
                seen["tamper"].append(f"{event['nodeid']}: two {event['when']} reports")
            mine[str(event["when"])] = (str(event["outcome"]), bool(event.get("xfail")))
        elif kind == "hello":
            if seen["hello"]:
                seen["tamper"].append("a second plug-in start in one run")
            seen["hello"], seen["pytest"] = True, event.get("pytest")
        elif kind == "collected":
            seen["collected"] = len(event["nodeids"])
        elif kind == "deselected":
            seen["deselected"] += event["nodeids"]
        elif kind == "collect_error":
            seen["collect_errors"].append(event["nodeid"])
        elif kind in ("tamper", "taint"):
            seen[kind].append(event)
        elif kind == "finish":
            seen["finish"] = {k: event.get(k) for k in ("exitstatus", "failed", "collected")}
    seen["tests"] = {nodeid: outcome(p) for nodeid, p in phases.items()}
    return seen


def run(settings: dict) -> dict:
    plugin_key = os.urandom(32)
    event_r, event_w = os.pipe()
    key_r, key_w = os.pipe()
    os.write(key_w, plugin_key)
    os.close(key_w)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PONDER_"))}
    env.update(settings.get("env", {}))
    paths = [os.path.abspath(settings["plugin_dir"]), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTEST_ADDOPTS"] = f"-p {settings['plugin']} -p no:cacheprovider"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PONDER_JUDGE"] = f"{event_w}:{key_r}:{os.path.realpath(os.getcwd())}"
    start = time.monotonic()
    child = subprocess.Popen(
        ["sh", "-c", settings["command"]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        pass_fds=(event_w, key_r),
        start_new_session=True,
    )
    os.close(event_w)
    os.close(key_r)
    output: list[bytes] = []
    events_raw: list[bytes] = []
    readers = [
        threading.Thread(
            target=read_all, args=(child.stdout.fileno(), output, settings["output_limit"])
        ),
        threading.Thread(target=read_all, args=(event_r, events_raw, 64 << 20)),
    ]
    for reader in readers:
        reader.daemon = True
        reader.start()
    timed_out = False
    try:
        child.wait(timeout=settings["timeout_s"])
    except subprocess.TimeoutExpired:
        timed_out = True
    # Whatever the command left running (a forked helper holding the pipes) ends here.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    for reader in readers:
        reader.join(timeout=5)
    events, problems = check_events(b"".join(events_raw), plugin_key)
    if any(reader.is_alive() for reader in readers):
        problems.append("a process outside the test command's group held the pipes open")
    return {
        "exit_code": None if timed_out else child.returncode,
        "timed_out": timed_out,
        "duration_s": round(time.monotonic() - start, 3),
        **summarize(events),
        "problems": problems,
        "output": b"".join(output).decode("utf-8", "replace"),
    }


def main() -> None:
    settings = json.loads(sys.stdin.read())
    host_key = bytes.fromhex(settings.pop("key"))
    protected = undumpable()
    sys.stdin.close()
    verdict = run(settings)
    verdict["undumpable"] = protected
    body = json.dumps(verdict, separators=(",", ":"))
    mac = hmac.new(host_key, body.encode(), hashlib.sha256).hexdigest()
    sys.stdout.write(f"{MARK}{body}\t{mac}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
