"""EvalPlus extra tests (HumanEval+, MBPP+): one hidden snippet comparing against the reference."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from ponder.sandbox.base import Limits, Sandbox
from ponder.task import Grade
from ponder.testrun import run_tests

_SNIPPET = """
import copy as _copy, json as _json, math as _math

_PLUS_INPUTS = _json.loads({inputs!r})
_PLUS_ATOL = {atol!r}
_PLUS_SHAPES = {shapes!r}
_ref_ns = {{"__name__": "_ponder_reference"}}
exec({reference!r}, _ref_ns)
_reference = _ref_ns[{entry_point!r}]


def _plus_shape(args):
    out = list(args)
    for i, kind in enumerate(_PLUS_SHAPES[: len(out)]):
        if kind == "tuple" and isinstance(out[i], list):
            out[i] = tuple(out[i])
        elif kind == "set" and isinstance(out[i], list):
            out[i] = set(out[i])
    return out


def _plus_same(got, want):
    if hasattr(want, "span") and hasattr(want, "group"):  # re.Match: compare what matched
        return hasattr(got, "span") and got.span() == want.span() and got.group() == want.group()
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(got, (int, float)) and isinstance(want, (int, float)):
            if _math.isnan(want):
                return _math.isnan(got)
            return _math.isclose(got, want, rel_tol=1e-7, abs_tol=max(_PLUS_ATOL, 1e-6))
        return False
    if isinstance(want, (list, tuple)) and type(got) is type(want):
        return len(got) == len(want) and all(_plus_same(g, w) for g, w in zip(got, want))
    return got == want


for _i, _args in enumerate(_PLUS_INPUTS):
    _want = _reference(*_plus_shape(_copy.deepcopy(_args)))
    _got = {entry_point}(*_plus_shape(_copy.deepcopy(_args)))
    assert _plus_same(_got, _want), (
        f"plus input {{_i}}: {{repr(_args)[:200]}} gave {{repr(_got)[:200]}}, expected {{repr(_want)[:200]}}"
    )
"""

PLUS_LIMITS = Limits(timeout_s=300.0, cpu_s=300, memory_mb=1024)
PLUS_PER_TEST_S = 240.0  # a few MBPP+ tasks take ~100 s on a busy 2-core machine


@dataclass(frozen=True)
class PlusTests:
    """The EvalPlus inputs of one task and the snippet that checks a solution on all of them."""

    task_id: str
    snippet: str
    inputs: int
    prompt: str = ""  # its complete helpers are defined on the judge's side
    entry_point: str | None = None

    async def run(self, sandbox: Sandbox, solution: str) -> dict:
        """Run base+plus inputs against `solution`: {'passed': bool, 'inputs': n, 'feedback'}."""
        result = await run_tests(
            sandbox,
            solution,
            [self.snippet],
            limits=PLUS_LIMITS,
            per_test_s=PLUS_PER_TEST_S,
            helpers=self.prompt,
            entry_point=self.entry_point,
        )
        return {
            "passed": result.all_passed,
            "inputs": self.inputs,
            "feedback": "" if result.all_passed else result.feedback()[-600:],
        }


def argument_shapes(assertion: str, entry_point: str) -> list[str]:
    """Top-level argument types (tuple/set/other) of the first call of `entry_point` in a test.

    JSON has no tuples or sets, so EvalPlus inputs arrive as lists; the original test shows
    which positions the function expects as tuples or sets.
    """
    try:
        tree = ast.parse(assertion)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == entry_point:
            kinds = {ast.Tuple: "tuple", ast.Set: "set"}
            return [kinds.get(type(a), "other") for a in node.args]
    return []


def plus_tests(record: dict, reference: str, shapes: list[str] | None = None) -> PlusTests:
    """Build the plus snippet of one EvalPlus record (base_input + plus_input)."""
    inputs = list(record.get("base_input") or []) + list(record.get("plus_input") or [])
    snippet = _SNIPPET.format(
        inputs=json.dumps(inputs),
        atol=float(record.get("atol") or 0.0),
        shapes=shapes or [],
        reference=reference,
        entry_point=record["entry_point"],
    )
    return PlusTests(
        task_id=record["task_id"],
        snippet=snippet,
        inputs=len(inputs),
        prompt=record.get("prompt") or "",
        entry_point=record["entry_point"],
    )


def read_evalplus(path: Path | None) -> dict[str, dict]:
    """EvalPlus records by task id ({} when the file is absent)."""
    if path is None:
        return {}
    with path.open(encoding="utf-8") as fh:
        return {rec["task_id"]: rec for rec in map(json.loads, fh) if rec}


async def grade_with_plus(
    base: Grade,
    plus: PlusTests | None,
    solution: str,
    sandbox: Sandbox | None,
    strict: bool,
    memo: dict[tuple[str, str], dict] | None = None,
) -> Grade:
    """Add the EvalPlus verdict to a base grade: details carry `base` and `plus` (None: no data).

    Plus inputs include the base inputs, so a solution that fails base fails plus unrun.
    `memo` (the scenario's) skips re-running a program already graded (greedy and search often
    return the same one).
    `strict` makes `correct` require both (the HumanEval+ / MBPP+ score).
    """
    details = {"base": base.correct} | base.details
    if plus is None or sandbox is None:
        return Grade(
            correct=base.correct and not strict,
            graded=base.graded,
            details=details | {"plus": None},
        )
    key = (plus.task_id, solution)
    if not base.correct:
        outcome: dict = {"passed": False}
    elif memo is not None and key in memo:
        outcome = memo[key]
    else:
        outcome = await plus.run(sandbox, solution)
        if memo is not None and outcome["passed"] is not None:
            memo[key] = outcome
    details |= {
        "plus": outcome["passed"],
        "plus_inputs": plus.inputs,
        "plus_feedback": outcome.get("feedback", ""),
    }
    correct = base.correct and (outcome["passed"] or not strict)
    return Grade(correct=correct, graded=base.graded, details=details)
