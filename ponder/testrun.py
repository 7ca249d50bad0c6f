"""Run test snippets one by one against a solution in a sandbox and report each outcome.

Both the `tests` verifier (public tests, during search) and grading (hidden tests, after
search) use this, as does `ponder check`. One sandbox job runs the judge
(`ponder.sandbox.judge`): the tests run in the judge's process, the solution in a separate
process whose functions the tests reach as proxies, and values cross as plain data. The tests
travel only to the judge; the verdicts come back on a channel only the judge writes, opened by a
per-job nonce the solution never sees. Nothing the solution prints is parsed.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import TaskFormatError
from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox


@dataclass
class TestOutcome:
    """How one test snippet fared."""

    index: int
    test: str
    passed: bool
    error_type: str = ""
    message: str = ""
    traceback: str = ""

    def describe(self) -> str:
        """The failing test, the error and its trimmed traceback (empty when it passed)."""
        if self.passed:
            return ""
        lines = [f"failed test {self.index + 1}: {self.test.strip()[:400]}"]
        if self.traceback:
            lines.append(self.traceback.rstrip())
        elif self.error_type:
            lines.append(f"{self.error_type}: {self.message}")
        return "\n".join(lines)


@dataclass
class TestRun:
    """The outcome of running all tests once: per-test results plus the raw execution."""

    outcomes: list[TestOutcome]
    load_error: str = ""
    exec_result: ExecResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total

    def feedback(self) -> str:
        """Execution feedback for a reviewer: the load error or the first failing test."""
        if self.load_error:
            return f"the solution failed to run:\n{self.load_error}"
        first = next((o for o in self.outcomes if not o.passed), None)
        text = first.describe() if first else f"all {self.total} tests passed"
        if self.notes:
            text += "\n" + "\n".join(self.notes)
        return text

    def summary(self) -> dict:
        """The `ponder check --json` object: all_passed, passed, total and every test."""
        return {
            "all_passed": self.all_passed,
            "passed": self.passed,
            "total": self.total,
            "load_error": self.load_error,
            "notes": self.notes,
            "tests": [
                {
                    "index": o.index,
                    "test": o.test,
                    "passed": o.passed,
                    "error_type": o.error_type,
                    "message": o.message,
                    "traceback": o.traceback,
                }
                for o in self.outcomes
            ],
        }

    def to_dict(self) -> dict:
        res = self.exec_result
        return {
            "passed": self.passed,
            "total": self.total,
            "load_error": self.load_error,
            "failed": [o.index for o in self.outcomes if not o.passed],
            "status": res.status if res else None,
            "duration_s": res.duration_s if res else None,
            "notes": self.notes,
        }


def judge_job(
    solution: str,
    tests: list[str],
    limits: Limits | None = None,
    per_test_s: float = 5.0,
    *,
    helpers: str = "",
    entry_point: str | None = None,
) -> tuple[Job, str]:
    """The judged sandbox job that runs `tests` against `solution`, and its report nonce.

    `helpers` is the task's prompt: its imports and complete functions (HumanEval/32's `poly`)
    are defined on the judge's side. `entry_point` is always the solution's function.
    """
    nonce = secrets.token_hex(16)
    spec = {
        "nonce": nonce,
        "tests": list(tests),
        "helpers": helpers,
        "entry_point": entry_point,
        "per_test_s": float(per_test_s),
    }
    job = Job(code=solution, judge=True, secret=json.dumps(spec), limits=limits or Limits())
    return job, nonce


def parse_report(result: ExecResult, tests: list[str], nonce: str) -> TestRun:
    """A TestRun from the judge's report; tests it never reached count as failed.

    Defensive throughout: a report that is missing, forged (wrong nonce) or malformed fails
    every test it does not vouch for, and never raises.
    """
    records = _records(result.report, nonce)
    if records is None:
        why = _describe_crash(result)
        return TestRun(_unrun(tests, why), load_error=why, exec_result=result)
    errors: dict[int, dict | None] = {}
    load_seen, load_error, ended = False, "", False
    for record in records:
        if "load" in record:
            load_seen = True
            if record["load"] is not None:
                load_error = _error_text(record["load"]) or "the solution failed to load"
        elif "test" in record:
            index = record["test"]
            if type(index) is int and 0 <= index < len(tests) and index not in errors:
                error = record.get("error")
                errors[index] = (
                    None if record.get("passed") is True and error is None else _as_error(error)
                )
        elif record.get("end") is True:
            ended = True
    if not load_seen:
        why = _describe_crash(result)
        return TestRun(_unrun(tests, why), load_error=why, exec_result=result)
    outcomes, notes = [], []
    timed_out = [i for i, e in errors.items() if e and e["error_type"] == "Timeout"]
    for i, test in enumerate(tests):
        if i in errors:
            err = errors[i]
            outcomes.append(TestOutcome(i, test, err is None, **(err or {})))
        elif load_error:
            outcomes.append(TestOutcome(i, test, False, "NotRun", "the solution failed to load"))
        elif timed_out:
            outcomes.append(
                TestOutcome(i, test, False, "NotRun", "not run: an earlier test timed out")
            )
        else:
            outcomes.append(TestOutcome(i, test, False, "NotRun", f"not reached ({result.status})"))
    if timed_out:
        notes.append(f"stopped after test {timed_out[0] + 1} timed out")
    elif not ended and not load_error:
        tail = result.stderr.strip()[-300:]
        notes.append(
            f"the run ended early ({result.status}{result.note and ': ' + result.note}) {tail}"
        )
    return TestRun(outcomes, load_error=load_error, exec_result=result, notes=notes)


def _records(report: str, nonce: str) -> list[dict] | None:
    """The report's records after a matching nonce line, or None."""
    lines = report.splitlines()
    try:
        first = json.loads(lines[0]) if lines else None
    except ValueError:
        return None
    if not isinstance(first, dict) or first.get("nonce") != nonce:
        return None
    records = []
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a line cut short by a killed judge
        if isinstance(record, dict):
            records.append(record)
    return records


def _as_error(error: object) -> dict:
    if not isinstance(error, dict):
        return {"error_type": "Error", "message": "failed", "traceback": ""}
    return {
        "error_type": str(error.get("type") or "Error")[:100],
        "message": str(error.get("message") or "")[:1000],
        "traceback": str(error.get("traceback") or "")[-3000:],
    }


def _error_text(error: object) -> str:
    err = _as_error(error)
    return err["traceback"] or f"{err['error_type']}: {err['message']}"


def _unrun(tests: list[str], why: str) -> list[TestOutcome]:
    return [TestOutcome(i, t, False, "NotRun", why[:300]) for i, t in enumerate(tests)]


def _describe_crash(result: ExecResult) -> str:
    tail = (result.stderr or result.note).strip()[-1000:]
    return (
        f"the judge reported nothing ({result.status}, exit {result.exit_code}): "
        f"{tail or 'no output'}"
    )


async def run_tests(
    sandbox: Sandbox,
    solution: str,
    tests: list[str],
    limits: Limits | None = None,
    per_test_s: float = 5.0,
    *,
    helpers: str = "",
    entry_point: str | None = None,
) -> TestRun:
    """Run `tests` against `solution` in one judged sandbox job (see the module docstring)."""
    job, nonce = judge_job(
        solution, tests, limits, per_test_s, helpers=helpers, entry_point=entry_point
    )
    result = await sandbox.run(job)
    return parse_report(result, tests, nonce)


def split_tests(source: str) -> list[str]:
    """Split a Python test file into test snippets: one per top-level assert, and one per
    top-level `def test_*():` function (its definition followed by a call to it).

    Other statements (imports, helper functions) are prepended to the next test; trailing ones
    (e.g. `check(candidate)`) form the last snippet. Snippets run in order in one namespace,
    so a later test sees what an earlier one defined. Raises SyntaxError.
    """
    tree = ast.parse(source)
    lines = source.splitlines(True)
    tests: list[str] = []
    pending: list[str] = []
    for stmt in tree.body:
        start = stmt.lineno - 1
        if getattr(stmt, "decorator_list", None):
            start = min(d.lineno for d in stmt.decorator_list) - 1
        text = "".join(lines[start : stmt.end_lineno]).rstrip() + "\n"
        pending.append(text)
        if _is_test_function(stmt):
            pending.append(f"{stmt.name}()\n")  # type: ignore[attr-defined]
        if isinstance(stmt, ast.Assert) or _is_test_function(stmt):
            tests.append("".join(pending))
            pending = []
    if pending:
        tests.append("".join(pending))
    return tests


def _is_test_function(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.FunctionDef)
        and stmt.name.startswith("test")
        and not stmt.args.args
        and not stmt.args.posonlyargs
    )


def read_check_inputs(solution: Path, tests: Path) -> tuple[str, list[str]]:
    """The solution's source and the test file's snippets; TaskFormatError names bad input."""
    texts = []
    for path, what in ((solution, "SOLUTION"), (tests, "--tests file")):
        try:
            texts.append(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise TaskFormatError(
                f"cannot read {what} {path}: {reason}", fix=f"pass a readable Python file as {what}"
            ) from None
    try:
        snippets = split_tests(texts[1])
    except SyntaxError as exc:
        raise TaskFormatError(
            f"{tests}: line {exc.lineno}: the tests are not valid Python ({exc.msg})",
            fix="fix the syntax; tests are top-level asserts or `def test_*():` functions",
        ) from None
    if not snippets:
        raise TaskFormatError(
            f"{tests} holds no tests", fix="add top-level asserts or `def test_*():` functions"
        )
    return texts[0], snippets
