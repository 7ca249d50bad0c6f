"""Turn the examples in a HumanEval docstring (`>>> f(x)` / expected line) into assert snippets."""

from __future__ import annotations

import ast
import re

_ARROW = re.compile(
    r"^\s*(?P<call>{name}\(.*\))\s*(?:==>|=>|➞|->|==|should return|returns?)\s*(?P<out>.+?)\s*$"
)


_BOOLS = {"true": "True", "false": "False"}


def _is_expr(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def _literal(text: str) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def _literal_call(call: str, name: str) -> bool:
    """`name(<literals>)`: a direct call whose arguments are all Python literals."""
    if not _is_expr(call):
        return False
    node = ast.parse(call, mode="eval").body
    if not (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ):
        return False
    args = [*node.args, *(k.value for k in node.keywords)]
    return all(_literal(ast.unparse(a))[0] for a in args)


def _assertion(call: str, expected: str, name: str) -> str | None:
    call = call.strip()
    expected = _BOOLS.get(expected.strip().rstrip(".,;"), expected.strip().rstrip(".,;"))
    ok, value = _literal(expected)
    if not ok or not _literal_call(call, name):
        return None
    if isinstance(value, float):
        return f"assert abs({call} - {expected}) < 1e-6\n"
    return f"assert {call} == {expected}\n"


_OUTPUT_ENDS = (">>>", '"""', "'''")


def _doctest_pairs(lines: list[str]) -> list[tuple[str, str]]:
    """(call, output) for each `>>> call` followed by exactly one output line."""
    pairs, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line.startswith(">>>"):
            continue
        out: list[str] = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(_OUTPUT_ENDS):
            out.append(lines[i].strip())
            i += 1
        if len(out) == 1:
            pairs.append((line[3:].strip(), out[0]))
    return pairs


def _arrow_pairs(lines: list[str], name: str) -> list[tuple[str, str]]:
    pattern = re.compile(_ARROW.pattern.format(name=re.escape(name)))
    pairs = []
    for line in lines:
        m = pattern.match(line)
        if m:
            pairs.append((m.group("call"), m.group("out")))
    return pairs


def docstring_asserts(prompt: str, entry_point: str) -> list[str]:
    """Assert snippets from the prompt's examples; [] when none parse.

    Handles doctest style (`>>> f(x)` then the output line) and the arrow style some
    HumanEval prompts use (`f(x) ==> y`, `f(x) => y`, `f(x) ➞ y`, `f(x) == y`).
    An example whose call or output is not a Python expression is skipped.
    """
    lines = prompt.splitlines()
    pairs = _doctest_pairs(lines) or _arrow_pairs(lines, entry_point)
    asserts = []
    for call, expected in pairs:
        snippet = _assertion(call, expected, entry_point)
        if snippet and snippet not in asserts:
            asserts.append(snippet)
    return asserts


KNOWN_WRONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    # Docstring examples that contradict the task's own tests (HumanEval errata).
    "HumanEval/47": ("median([-10, 4, 6, 1000, 10, 20])",),  # says 15.0; the median is 8.0
    "HumanEval/148": ('bf("Earth", "Mercury")',),  # says ("Venus"), a str; the task returns a tuple
}
"""Examples dropped from the public tests because the canonical solution disagrees with them."""
