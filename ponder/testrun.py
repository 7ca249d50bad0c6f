"""Run test snippets one by one against a solution in a sandbox and report each outcome.

Both the `tests` verifier (public tests, during search) and grading (hidden tests, after
search) use this. One sandbox job runs a small harness: it executes the solution, then each
test snippet in the same namespace, each under its own alarm, and prints one marked JSON
line per test as it finishes, so a job that is killed still reports the tests it reached.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass, field

from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox

_HARNESS = r"""
import io, json, linecache, signal, sys, traceback, types

SOLUTION = __SOLUTION__
TESTS = __TESTS__
MARK = __MARK__
PER_TEST_S = __PER_TEST_S__
_out = sys.stdout


def _emit(record):
    _out.write(MARK + json.dumps(record) + "\n")
    _out.flush()


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _register(name, source):
    lines = source.splitlines(True)
    linecache.cache[name] = (len(source), None, lines, name)


def _trimmed_tb(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename == "solution.py" or f.filename.startswith("test_")]
    text = "".join(traceback.format_list(frames[-6:]))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return text[-2000:]


def _run(name, source, ns):
    _register(name, source)
    sys.stdout = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, PER_TEST_S)
    try:
        exec(compile(source, name, "exec"), ns)
        return None
    except _Timeout:
        return {"error_type": "Timeout", "message": f"took longer than {PER_TEST_S:g}s",
                "traceback": ""}
    except BaseException as exc:
        return {"error_type": type(exc).__name__, "message": str(exc)[:500],
                "traceback": _trimmed_tb(exc)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout = _out


# The solution runs as module `solution`: its `if __name__ == "__main__":` block stays quiet,
# and classes it defines (dataclasses, pickling) find their module.
module = types.ModuleType("solution")
sys.modules["solution"] = module
ns = module.__dict__
err = _run("solution.py", SOLUTION, ns)
_emit({"load": err})
if err is None:
    for i, test in enumerate(TESTS):
        err = _run(f"test_{i}.py", test, ns)
        _emit({"test": i, "error": err})
        if err is not None and err["error_type"] == "Timeout":
            break  # the solution likely loops; do not spend PER_TEST_S on every test
"""


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


def harness_job(
    solution: str, tests: list[str], limits: Limits | None = None, per_test_s: float = 5.0
) -> tuple[Job, str]:
    """The sandbox job that runs `tests` against `solution`, and the marker its output uses."""
    mark = f"@@ponder-{secrets.token_hex(8)}@@"
    code = (
        _HARNESS.replace("__SOLUTION__", repr(solution))
        .replace("__TESTS__", repr(list(tests)))
        .replace("__MARK__", repr(mark))
        .replace("__PER_TEST_S__", repr(float(per_test_s)))
    )
    return Job(code=code, limits=limits or Limits()), mark


def parse_harness_output(result: ExecResult, tests: list[str], mark: str) -> TestRun:
    """Turn the harness's marked lines into a TestRun; tests it never reached count as failed."""
    errors: dict[int, dict | None] = {}
    load_seen, load_error = False, ""
    for line in result.stdout.splitlines():
        if not line.startswith(mark):
            continue
        try:
            record = json.loads(line[len(mark) :])
        except json.JSONDecodeError:
            continue
        if "load" in record:
            load_seen = True
            if record["load"]:
                err = record["load"]
                load_error = err.get("traceback") or f"{err['error_type']}: {err['message']}"
        elif "test" in record:
            errors[int(record["test"])] = record["error"]
    outcomes, notes = [], []
    for i, test in enumerate(tests):
        if i in errors:
            err = errors[i]
            outcomes.append(
                TestOutcome(i, test, err is None, **{k: (err or {}).get(k, "") for k in _ERR_KEYS})
            )
        else:
            if load_error:
                why = "the solution failed to load"
            elif any(e and e.get("error_type") == "Timeout" for e in errors.values()):
                why = "not run: an earlier test timed out"
            else:
                why = f"not reached ({result.status})"
            outcomes.append(TestOutcome(i, test, False, "NotRun", why))
    if not load_seen:
        load_error = _describe_crash(result)
    elif len(errors) < len(tests) and not load_error:
        timed_out = [i for i, e in errors.items() if e and e.get("error_type") == "Timeout"]
        if timed_out:
            notes.append(f"stopped after test {timed_out[0] + 1} timed out")
        else:
            tail = result.stderr.strip()[-300:]
            notes.append(f"the run ended early ({result.status}): {tail}")
    return TestRun(outcomes, load_error=load_error, exec_result=result, notes=notes)


_ERR_KEYS = ("error_type", "message", "traceback")


def _describe_crash(result: ExecResult) -> str:
    tail = (result.stderr or result.stdout).strip()[-1000:]
    return (
        f"the process ended before the tests ran ({result.status}, exit {result.exit_code}): "
        f"{tail or 'no output'}"
    )


async def run_tests(
    sandbox: Sandbox,
    solution: str,
    tests: list[str],
    limits: Limits | None = None,
    per_test_s: float = 5.0,
) -> TestRun:
    """Run `tests` against `solution` in one sandbox job."""
    job, mark = harness_job(solution, tests, limits, per_test_s)
    result = await sandbox.run(job)
    return parse_harness_output(result, tests, mark)


def split_tests(source: str) -> list[str]:
    """Split a Python test file into test snippets, one per top-level assert.

    Statements that are not asserts (imports, helper functions) are prepended to the next
    assert; trailing ones (e.g. `check(candidate)`) form the last snippet. Raises SyntaxError.
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
        if isinstance(stmt, ast.Assert):
            tests.append("".join(pending))
            pending = []
    if pending:
        tests.append("".join(pending))
    return tests
