"""A task's generated tests: the model's test inputs and, asked separately, its expected outputs.

Written from the visible task only (prompt, entry point, public tests as examples). Inputs are
calls of the entry point with literal arguments, rewritten from the parsed values, so nothing
but data reaches the judge. Expected outputs are the model's guesses: a verifier may weigh
them but never trust them alone (CodeT's dual agreement).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace

from ponder.budget import Budget
from ponder.llm.base import SamplingParams
from ponder.llm.client import ModelClient
from ponder.task import VisibleTask
from ponder.testcalls import shown, value_key
from ponder.verifiers.prompting import chat

_FENCE = re.compile(r"```[a-zA-Z0-9]*\n(.*?)```", re.S)
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)
_LITERAL_ERRORS = (*_PARSE_ERRORS, TypeError)
MAX_CALL_CHARS = 400  # a longer input is more likely a paste than a test


@dataclass(frozen=True)
class GeneratedTest:
    """One generated input (a call) and the model's expected value for it, if it gave one."""

    call: str
    expected: str | None = None  # the expected value as shown
    expected_key: str | None = None  # its `testcalls.value_key`


@dataclass
class Suite:
    """The generated tests of one task, and what writing them cost."""

    tests: list[GeneratedTest] = field(default_factory=list)
    note: str = ""  # why the suite is empty or partial

    @property
    def calls(self) -> list[str]:
        return [t.call for t in self.tests]

    @property
    def checked(self) -> int:
        """Tests that carry an expected value."""
        return sum(t.expected_key is not None for t in self.tests)


def _code_lines(text: str) -> list[str]:
    blocks = _FENCE.findall(text)
    body = "\n".join(blocks) if blocks else text
    return [line.strip() for line in body.splitlines() if line.strip()]


def _literal(node: ast.expr) -> object:
    return ast.literal_eval(node)


def call_arguments(
    node: ast.expr, entry_point: str
) -> tuple[list[object], dict[str, object]] | None:
    """The literal positional and keyword arguments of a call of `entry_point`, or None if
    `node` is not such a call."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == entry_point
    ):
        return None
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        return None
    try:
        return [_literal(a) for a in node.args], {k.arg: _literal(k.value) for k in node.keywords}
    except _LITERAL_ERRORS:
        return None


def format_call(entry_point: str, args: list[object], kwargs: dict[str, object]) -> str:
    """`entry(args)` written from the argument values (repr)."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{entry_point}({', '.join(parts)})"


def normalize_call(node: ast.expr, entry_point: str) -> str | None:
    """`entry(args)` rewritten from its literal arguments (repr), or None if it is not one."""
    found = call_arguments(node, entry_point)
    if found is None:
        return None
    call = format_call(entry_point, *found)
    return call if len(call) <= MAX_CALL_CHARS else None


def parse_expression(line: str) -> ast.expr | None:
    line = line.removeprefix(">>>").strip().removeprefix("assert ").strip()
    try:
        tree = ast.parse(line, mode="eval")
    except _PARSE_ERRORS:
        return None
    return tree.body


def parse_calls(text: str, entry_point: str, limit: int) -> list[str]:
    """The distinct entry-point calls in a reply, one per line at most."""
    calls: list[str] = []
    for line in _code_lines(text):
        node = parse_expression(line)
        # The first call of the entry point in the line: `f(x)`, `assert f(x) == y` (its
        # guess dropped), `print(f(x))`, `abs(f(x) - y) < 1e-6`.
        found = (normalize_call(n, entry_point) for n in ast.walk(node)) if node else iter(())
        call = next((c for c in found if c is not None), None)
        if call is not None and call not in calls:
            calls.append(call)
        if len(calls) >= limit:
            break
    return calls


def parse_expectations(text: str, calls: list[str], entry_point: str) -> list[GeneratedTest]:
    """Pair each call with the literal the reply's `assert CALL == VALUE` gives for it."""
    found: dict[str, object] = {}
    for line in _code_lines(text):
        node = parse_expression(line)
        if not (
            isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
        ):
            continue
        call = normalize_call(node.left, entry_point)
        if call is None or call not in calls or call in found:
            continue
        try:
            found[call] = _literal(node.comparators[0])
        except _LITERAL_ERRORS:
            continue
    tests = []
    for call in calls:
        if call in found:
            value = found[call]
            tests.append(GeneratedTest(call, shown(value), value_key(value)))
        else:
            tests.append(GeneratedTest(call))
    return tests


def prompt_is_code(prompt: str) -> bool:
    """Whether a task's prompt is Python (a signature and docstring, as in HumanEval) rather
    than a prose description (as in MBPP): the test-writing prompts show each as it is."""
    try:
        ast.parse(prompt)
    except _PARSE_ERRORS:
        return False
    return True


def _shapes(task: VisibleTask) -> list[str]:
    """Up to three calls from the public tests, to show the form of an input."""
    entry = task.entry_point or ""
    return parse_calls("\n".join(task.public_tests[:5]), entry, 3) or [f"{entry}(...)"]


def _value_chars(task: VisibleTask) -> int:
    """The longest expected value among the public asserts (`assert CALL == VALUE`), in
    characters: how long a value the outputs call may have to write. 16 without one."""
    longest = 0
    for test in task.public_tests[:5]:
        for line in test.splitlines():
            source = line.strip().removeprefix("assert ").strip()
            node = parse_expression(source)
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq):
                value = ast.get_source_segment(source, node.comparators[-1]) or ""
                longest = max(longest, len(value))
    return longest or 16


def _line_room(chars: int) -> int:
    """Tokens for one code line of `chars` characters: one per two characters, plus 8 (code
    runs about three characters a token: room for a line half again as long)."""
    return 8 + chars // 2


def inputs_max_tokens(shapes: list[str], n: int, cap: int) -> int:
    """Room for n calls shaped like the examples, and 16 for the fence: small models asked
    for n inputs often keep enumerating to the token limit, and every token is charged to
    the search's budget."""
    return max(1, min(cap, 16 + n * _line_room(max(len(shape) for shape in shapes))))


def outputs_max_tokens(task: VisibleTask, calls: list[str], cap: int) -> int:
    """Room for one `assert CALL == VALUE` per call (values as long as the public tests'
    longest), and the fence: asked for values, small models also go on explaining them."""
    value = _value_chars(task)
    lines = sum(_line_room(len("assert  == ") + len(call) + value) for call in calls)
    return max(1, min(cap, 16 + lines))


def expected_cost(task: VisibleTask, n: int, max_tokens: int) -> int:
    """Completion tokens writing a suite of n inputs may cost: both calls' rooms, for calls
    as long as the longest public example."""
    shapes = _shapes(task)
    longest = max(shapes, key=len)
    return inputs_max_tokens(shapes, n, max_tokens) + outputs_max_tokens(
        task, [longest] * n, max_tokens
    )


def affordable_inputs(
    task: VisibleTask, left: int, reserve: int, most: int, max_tokens: int, least: int = 2
) -> int:
    """The most inputs (at most `most`, at least `least`) whose suite costs no more than
    `left` tokens less `reserve`; 0 when even `least` would not fit."""
    for n in range(most, least - 1, -1):
        if expected_cost(task, n, max_tokens) + reserve <= left:
            return n
    return 0


async def write_suite(
    task: VisibleTask,
    model: ModelClient,
    budget: Budget | None,
    n: int = 8,
    max_tokens: int = 512,
    seed: int = 0,
) -> Suite:
    """Two model calls: the inputs, then (seeing only the inputs) the expected outputs."""
    entry = task.entry_point
    if not entry:
        return Suite(note="the task names no entry point to call")
    examples = task.public_tests[:5]
    shapes = _shapes(task)
    params = SamplingParams(n=1, max_tokens=max_tokens, temperature=0.0, seed=seed)
    is_code = prompt_is_code(task.prompt)
    messages = chat(
        "gen_system.j2", "gen_inputs.j2",
        task=task, examples=shapes, n=n, entry=entry, prompt_is_code=is_code,
    )  # fmt: skip
    room = inputs_max_tokens(shapes, n, max_tokens)
    gen = await model.generate(messages, replace(params, max_tokens=room), budget=budget)
    calls = parse_calls(gen.text, entry, n)
    if not calls:
        return Suite(note=f"the model wrote no usable test inputs: {gen.text[:160]!r}")
    messages = chat(
        "gen_system.j2", "gen_outputs.j2",
        task=task, examples=examples, calls=calls, entry=entry, prompt_is_code=is_code,
    )  # fmt: skip
    room = outputs_max_tokens(task, calls, max_tokens)
    gen = await model.generate(messages, replace(params, max_tokens=room), budget=budget)
    tests = parse_expectations(gen.text, calls, entry)
    suite = Suite(tests)
    if not suite.checked:
        suite.note = "the model gave no usable expected outputs: agreement alone ranks"
    return suite
