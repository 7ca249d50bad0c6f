"""Program-aided math: find a candidate's program, run it in the sandbox, parse what it printed.

A program-aided (PAL / program-of-thought) answer is kept as a fenced ```python block, so a
bare answer (`42`, `\\frac{1}{2}`) and a program are never confused. The program runs as an
ordinary sandbox job (`Job(code=...)`: same isolation and limits as code), and the answer is
the last non-empty line it printed, cleaned of `\\boxed{}`, answer phrases, `$`, thousands
separators and trailing units.
"""

from __future__ import annotations

import ast
import asyncio
import re
import weakref
from dataclasses import dataclass

from ponder.budget import Budget
from ponder.kinds.answers import extract_boxed, extract_phrase
from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox

_FENCE = re.compile(r"```[ \t]*(python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_TRACE_LINE = re.compile(r'File "[^"]*main\.py", line (\d+)')
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
# A number followed only by words (units): "18 dollars", "3.5 hours", "$18.00".
_WITH_UNITS = re.compile(r"^\$?\s*(-?[\d,]*\.?\d+(?:/\d+)?)\s*%?\s*[A-Za-z][A-Za-z .]*$")

PROGRAM_LIMITS = Limits(timeout_s=10.0, cpu_s=10, memory_mb=512, output_bytes=16_000)


def fence(code: str) -> str:
    """A program as a candidate's answer: one fenced python block."""
    return f"```python\n{code.strip()}\n```"


def program_of(text: str | None) -> str | None:
    """The program of a program-aided answer or candidate text: its longest python block.

    A block with no language tag counts only when it parses as Python and is more than
    one expression (a fenced `42` is an answer, not a program). None when there is none.
    """
    if not text or "```" not in text:
        return None
    blocks = []
    for lang, body in _FENCE.findall(text):
        body = body.strip("\n")
        if not body.strip():
            continue
        if lang or _is_program(body):
            blocks.append(body)
    return max(blocks, key=len) if blocks else None


def _is_program(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return not (len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr))


def is_code(step: str) -> bool:
    """Whether a step is Python (a code-augmented step) rather than a line of prose."""
    if not step.strip():
        return False
    try:
        tree = ast.parse(step)
    except SyntaxError:
        return False
    # A lone word or number parses too, but is prose ("Subtract", "42"), not a step of code.
    lone = len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
    return not (lone and isinstance(tree.body[0].value, ast.Name | ast.Constant))


def parse_printed(stdout: str) -> str | None:
    """The answer a program printed: its last non-empty line, cleaned; None if it printed none."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1]
    found = extract_boxed(line) or extract_phrase(line) or line
    found = found.strip().strip("$").strip().rstrip(".").strip()
    if _GROUPED.fullmatch(found):
        return found.replace(",", "")
    units = _WITH_UNITS.match(found)
    if units:
        return units.group(1).replace(",", "")
    numbers = _NUMBER.findall(found)
    if len(numbers) == 1 and not re.search(r"[=()\[\]{}\\^*+]", found):
        return numbers[0].replace(",", "")  # "Total: 18" -> 18; an expression stays as it is
    return found or None


@dataclass(frozen=True)
class ProgramRun:
    """What one program did: the sandbox's status, its answer, and the line that failed."""

    status: str
    stdout: str
    stderr: str
    answer: str | None  # the parsed printed value; None when it errored or printed nothing
    error_line: int | None  # 1-based line of main.py where it failed (from the traceback)
    sandbox_error: bool = False

    @property
    def ran(self) -> bool:
        """Ran to the end without an error (it may still have printed nothing)."""
        return self.status == "ok"

    def feedback(self) -> str:
        if self.sandbox_error:
            return f"the sandbox failed: {self.stderr[-300:]}"
        if not self.ran:
            where = f" at line {self.error_line}" if self.error_line else ""
            tail = self.stderr.strip().splitlines()[-1:] or [self.status]
            return f"the program failed ({self.status}){where}: {tail[0][:300]}"
        if self.answer is None:
            return "the program ran but printed nothing"
        return f"the program printed {self.answer}"


def program_run(result: ExecResult) -> ProgramRun:
    """A ProgramRun from the sandbox's result."""
    lines = [int(n) for n in _TRACE_LINE.findall(result.stderr)]
    ok = result.status == "ok" and result.exit_code in (0, None)
    return ProgramRun(
        status="ok" if ok else (result.status if result.status != "ok" else "error"),
        stdout=result.stdout[-4000:],
        stderr=(result.stderr or result.note)[-4000:],
        answer=parse_printed(result.stdout) if ok else None,
        error_line=lines[-1] if lines and not ok else None,
        sandbox_error=result.status == "sandbox_error",
    )


class ProgramRunner:
    """Runs programs in one sandbox, once each: every verifier of a run shares the result.

    Voting verifiers re-judge every candidate so far on each call (they are collective), so
    without the memo a program would run, and be charged to the budget, once per vote.
    """

    def __init__(self, sandbox: Sandbox, budget: Budget | None = None) -> None:
        self.sandbox = sandbox
        self.budget = budget
        self._done: dict[str, ProgramRun] = {}
        self._running: dict[str, asyncio.Future[ProgramRun]] = {}

    async def run(self, code: str) -> ProgramRun:
        if code in self._done:
            return self._done[code]
        if code in self._running:
            return await self._running[code]
        future: asyncio.Future[ProgramRun] = asyncio.get_running_loop().create_future()
        self._running[code] = future
        try:
            result = await self.sandbox.run(Job(code=code, limits=PROGRAM_LIMITS))
            if self.budget is not None:
                self.budget.record_sandbox(result.duration_s)
            run = program_run(result)
            if not run.sandbox_error:
                self._done[code] = run
            future.set_result(run)
            return run
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter may not exist
            raise
        finally:
            del self._running[code]


# One runner per sandbox object: a run hands every verifier the same (metered) sandbox, so
# this shares executions within a run and ends with it (weak keys) - no state across runs.
_RUNNERS: weakref.WeakKeyDictionary[Sandbox, ProgramRunner] = weakref.WeakKeyDictionary()


def runner_for(sandbox: Sandbox, budget: Budget | None = None) -> ProgramRunner:
    """The ProgramRunner of `sandbox` (made on first use)."""
    runner = _RUNNERS.get(sandbox)
    if runner is None:
        runner = _RUNNERS[sandbox] = ProgramRunner(sandbox, budget)
    return runner


def step_lines(steps: list[str]) -> list[tuple[int, int]]:
    """The 1-based (first, last) lines of each step in the program `"\\n".join(steps)`."""
    spans, line = [], 1
    for step in steps:
        n = step.count("\n") + 1
        spans.append((line, line + n - 1))
        line += n
    return spans


def program_steps(code: str) -> list[str]:
    """A program split into steps (rStar-Math's code-augmented chain of thought): a step
    starts at each comment that follows code; a program without comments has one step per
    top-level statement. Joined with newlines, the steps are the program again."""
    lines = code.strip("\n").splitlines()
    starts = [0]
    if any(line.lstrip().startswith("#") for line in lines):
        for i in range(1, len(lines)):
            prev = lines[i - 1].strip()
            if lines[i].lstrip().startswith("#") and prev and not prev.startswith("#"):
                starts.append(i)
    else:
        try:
            starts = sorted({0, *(s.lineno - 1 for s in ast.parse(code.strip("\n")).body)})
        except SyntaxError:
            starts = list(range(len(lines)))
    bounds = [*starts, len(lines)]
    steps = ["\n".join(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [s for s in steps if s.strip()] or [code]


def step_scores_for(steps: list[str], run: ProgramRun, need_answer: bool) -> list[float]:
    """1 for each step that ran, 0 from the step whose code failed on; a program that ran
    but printed no answer (when one is needed) fails at its last step."""
    if run.ran:
        scores = [1.0] * len(steps)
        if need_answer and run.answer is None and scores:
            scores[-1] = 0.0
        return scores
    failed = len(steps) - 1
    if run.error_line is not None:
        for i, (_, last) in enumerate(step_lines(steps)):
            if run.error_line <= last:
                failed = i
                break
    return [1.0 if i < failed else 0.0 for i in range(len(steps))]
