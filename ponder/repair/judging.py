"""Host side of the patch judge: the files and settings of one judged run, and its verdict.

A run ships `driver.py` and the plug-in (under a fresh random module name) to a directory
outside the repository, hands the driver a fresh key on stdin, and accepts only the one output
line the driver signs with that key. Everything else the run printed is output, never a verdict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

JUDGE_DIR = Path(__file__).resolve().parent / "judge"
MARK = "PONDER-JUDGE "
JUDGE_OUTPUT_LIMIT = 16_000  # the test command's own output kept in a verdict
JUDGE_VERSION = hashlib.sha256(
    b"".join((JUDGE_DIR / n).read_bytes() for n in ("driver.py", "plugin.py"))
).hexdigest()[:16]


class Verdict(BaseModel):
    """What the judge saw: per-test outcomes and anything that looked like tampering."""

    exit_code: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    hello: bool = False  # the plug-in started in the test process
    pytest: str | None = None
    collected: int | None = None
    finish: dict[str, Any] | None = None  # pytest's session end (absent: the run was cut short)
    tests: dict[str, str] = Field(default_factory=dict)  # nodeid -> passed/failed/skipped/...
    deselected: list[str] = Field(default_factory=list)
    collect_errors: list[str] = Field(default_factory=list)
    tamper: list[Any] = Field(default_factory=list)
    taint: list[Any] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    undumpable: bool = False
    output: str = ""

    def integrity(self) -> list[str]:
        """Reasons this run's outcomes cannot be trusted (empty when none)."""
        reasons = list(self.problems)
        if not self.undumpable:
            reasons.append("the judge could not protect its memory (prctl PR_SET_DUMPABLE failed)")
        if not self.hello:
            reasons.append("the judge plug-in never started (is the test command pytest?)")
        elif self.finish is None:
            reasons.append(
                "the test session did not finish (the process exited or was killed mid-run)"
            )
        for item in self.tamper:
            reasons.append(f"tampering: {_describe(item)}")
        for item in self.taint:
            reasons.append(f"code under test used {_describe(item)}")
        return reasons


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        if "event" in item:
            return f"{item['event']} ({item.get('file')}:{item.get('line')})"
        return str(item.get("what", item))
    return str(item)


@dataclass
class JudgeRun:
    """One judged run's files (relative to `directory`), its command and the driver's stdin."""

    directory: str  # where driver.py and the plug-in go: outside the repository
    files: dict[str, str]
    stdin: str
    key: bytes = field(repr=False)

    def argv(self, python: str = "python3") -> list[str]:
        return [python, "-I", f"{self.directory}/driver.py"]


def judge_run(
    command: str,
    directory: str,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> JudgeRun:
    """A fresh key, a fresh plug-in module name, and the driver's settings."""
    key = secrets.token_bytes(32)
    plugin = f"ponder_judge_{secrets.token_hex(8)}"
    files = {
        "driver.py": (JUDGE_DIR / "driver.py").read_text(encoding="utf-8"),
        f"{plugin}.py": (JUDGE_DIR / "plugin.py").read_text(encoding="utf-8"),
    }
    settings = {
        "key": key.hex(),
        "command": command,
        "plugin": plugin,
        "plugin_dir": directory,
        "timeout_s": timeout_s,
        "output_limit": JUDGE_OUTPUT_LIMIT,
        "env": env or {},
    }
    return JudgeRun(directory=directory, files=files, stdin=json.dumps(settings), key=key)


def read_verdict(stdout: str, key: bytes) -> tuple[Verdict | None, str]:
    """The driver's signed verdict, or None and why there is none."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        return None, "the judge printed no verdict (it was killed, or ran out of time or memory)"
    if len(lines) > 1:
        return None, "more than one verdict line: something else wrote to the judge's output"
    body, _, mac = lines[0][len(MARK) :].rpartition("\t")
    want = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, mac):
        return None, "the verdict's signature does not match: it was not written by the judge"
    try:
        return Verdict.model_validate_json(body), ""
    except ValidationError as exc:
        return None, f"the verdict does not parse ({exc.errors()[0]['msg']})"
