"""Call a solution's function on given inputs in the judge and bring back what each call returned.

Built on the hardened harness (`ponder.testrun`): each call is a judge-side test snippet, so
the candidate's function is reached through a proxy and its return value crosses the codec as
plain data. The judge reports only a verdict per snippet, so a snippet reports its call's
value by raising `__PonderValue` with a small JSON message (a digest of the value's canonical
form and a short repr). The judge writes that message itself: a candidate can return any value
but cannot choose the record, and nothing it prints is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ponder.sandbox.base import ExecResult, Limits, Sandbox
from ponder.testrun import judge_job, parse_report

RECORD_TYPE = "__PonderValue"

# Runs once in the judge (the first snippet) and on the host (expected values), so both sides
# key values the same way. Equal keys follow Python's == on builtin values: 2 == 2.0 == True,
# a set equals a frozenset, dicts ignore order; floats compare at 12 significant digits.
PRELUDE = r"""
import hashlib as __ponder_hashlib
import json as __ponder_json


class __PonderValue(Exception):
    pass


def __ponder_canon(value, depth=0):
    if depth > 60:
        return "deep"
    canon = lambda v: __ponder_canon(v, depth + 1)  # noqa: E731
    kind = type(value).__name__
    if value is None:
        return "None"
    if isinstance(value, (bool, int)):
        return "n:%d" % value if abs(value) < 10**300 else "n:%x" % value
    if isinstance(value, float):
        if value != value:
            return "n:nan"
        if value in (float("inf"), float("-inf")):
            return "n:" + repr(value)
        if value == int(value) and abs(value) < 2**53:
            return "n:%d" % int(value)
        return "n:" + format(value, ".12g")
    if isinstance(value, complex):
        if value.imag == 0:
            return canon(value.real)
        return "c:" + canon(value.real) + "," + canon(value.imag)
    if kind in ("Fraction", "Decimal"):
        return canon(int(value)) if value == int(value) else canon(float(value))
    if isinstance(value, str):
        return "s:" + __ponder_json.dumps(value)
    if isinstance(value, (bytes, bytearray)):
        return "b:" + bytes(value).hex()
    if isinstance(value, list):
        return "l[" + ",".join(canon(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "t(" + ",".join(canon(v) for v in value) + ")"
    if isinstance(value, range):
        return "r(%d,%d,%d)" % (value.start, value.stop, value.step)
    if isinstance(value, dict):
        items = sorted(canon(k) + ":" + canon(v) for k, v in value.items())
        return "d{" + ",".join(items) + "}"
    if isinstance(value, (set, frozenset)):
        return "S{" + ",".join(sorted(canon(v) for v in value)) + "}"
    if kind == "MatchData":
        return "m:" + repr((value._spans, value._groups))
    if hasattr(value, "__next__"):
        return "it[" + ",".join(canon(v) for v in value) + "]"
    return kind + ":" + repr(value)


def __ponder_key(value):
    text = __ponder_canon(value)
    return __ponder_hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def __ponder_shown(value):
    if hasattr(value, "__next__"):
        return "iter(%r)" % (list(value),)
    return repr(value)


def __ponder_record(thunk):
    try:
        value = thunk()
    except Exception as exc:  # the candidate raised: that is its answer on this input
        name = type(exc).__name__
        if name == "SolutionError":
            name = str(exc).split(":", 1)[0]
        record = {"kind": "raised", "key": "raised:" + name[:60], "shown": "raises " + name[:60]}
    else:
        if hasattr(value, "__next__"):
            value = iter(list(value))  # consumed twice: once for the key, once to show
            items = list(value)
            key, shown = __ponder_key(iter(items)), __ponder_shown(iter(items))
        else:
            key, shown = __ponder_key(value), __ponder_shown(value)
        record = {"kind": "value", "key": key, "shown": shown[:300]}
    message = __ponder_json.dumps(record)
    while len(message) > 480:  # the judge keeps 500 characters of a message
        record["shown"] = record["shown"][: len(record["shown"]) // 2] + "..."
        message = __ponder_json.dumps(record)
    raise __PonderValue(message)
"""


def _host_functions() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "ponder_testcalls_prelude"}
    exec(compile(PRELUDE, "prelude.py", "exec"), namespace)  # noqa: S102 - our own constant
    return namespace


_HOST = _host_functions()


def value_key(value: object) -> str:
    """The key the judge gives a returned `value` (equal keys: equal values, as `==` sees them)."""
    return _HOST["__ponder_key"](value)


def shown(value: object) -> str:
    """How a value is shown to people and prompts (its repr, cut)."""
    return _HOST["__ponder_shown"](value)[:300]


@dataclass(frozen=True)
class CallOutcome:
    """What one call gave: a value, an exception it raised, or a failure of the run itself."""

    kind: Literal["value", "raised", "failed"]
    key: str
    shown: str


@dataclass
class CallRun:
    """Every call's outcome, in order, plus the raw execution."""

    outcomes: list[CallOutcome]
    load_error: str = ""
    exec_result: ExecResult | None = None
    extra: list[bool] = field(default_factory=list)  # pass/fail of the `tests` run alongside

    @property
    def sandbox_error(self) -> bool:
        return self.exec_result is not None and self.exec_result.status == "sandbox_error"


def call_snippets(calls: list[str]) -> list[str]:
    """The judge-side snippets: the prelude, then one recording snippet per call expression."""
    return [PRELUDE] + [f"__ponder_record(lambda: ({call}))\n" for call in calls]


def _outcome(error_type: str, message: str) -> CallOutcome:
    if error_type == RECORD_TYPE:
        try:
            record = json.loads(message)
            return CallOutcome(record["kind"], str(record["key"]), str(record["shown"]))
        except (ValueError, KeyError, TypeError):
            pass
        return CallOutcome("failed", "failed:malformed", "a malformed record")
    return CallOutcome("failed", f"failed:{error_type}", f"{error_type}: {message[:120]}")


async def run_calls(
    sandbox: Sandbox,
    solution: str,
    calls: list[str],
    limits: Limits | None = None,
    per_call_s: float = 2.0,
    *,
    tests: list[str] | None = None,
    helpers: str = "",
    entry_point: str | None = None,
) -> CallRun:
    """Evaluate each call expression (e.g. `add(1, 2)`) against `solution` in one judged job.

    `tests` (assert snippets, e.g. the public tests) run first in the same job; their
    pass/fail comes back as `CallRun.extra`. A call that times out ends the job: it and the
    calls after it are failures.
    """
    tests = list(tests or [])
    snippets = tests + call_snippets(calls)
    job, nonce = judge_job(
        solution, snippets, limits, per_call_s, helpers=helpers, entry_point=entry_point
    )
    result = await sandbox.run(job)
    run = parse_report(result, snippets, nonce)
    outs = run.outcomes
    extra = [o.passed for o in outs[: len(tests)]]
    prelude = outs[len(tests)] if len(outs) > len(tests) else None
    outcomes = []
    for o in outs[len(tests) + 1 :]:
        if prelude is not None and not prelude.passed and o.error_type == "NotRun":
            outcomes.append(CallOutcome("failed", "failed:NotRun", "not run"))
        else:
            outcomes.append(_outcome(o.error_type, o.message))
    return CallRun(outcomes, load_error=run.load_error, exec_result=result, extra=extra)
