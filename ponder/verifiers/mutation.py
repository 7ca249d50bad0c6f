"""Type-aware input mutation (EvalPlus's idea): new test inputs from known ones, for free.

The model's generated inputs are often variations on the docstring's example, so programs
with different behaviour can agree on all of them (HumanEval/0: only sorted lists, on which
comparing neighbours and comparing every pair agree). Mutating known calls, one argument at a
time and keeping its type (a list shuffled, reversed, shortened or with an element repeated; a
number moved by one or negated; a string reversed or shortened), gives inputs that tell such
programs apart. They carry no expected value: they only split behaviour groups. No model call:
the inputs cost sandbox time only.
"""

from __future__ import annotations

import ast
import random

_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, RecursionError, MemoryError)


def _parse(call: str, entry_point: str) -> list[object] | None:
    """The positional literal arguments of `entry_point(...)`, or None if it is not such a call."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == entry_point
        and not node.keywords
    ):
        return None
    try:
        return [ast.literal_eval(a) for a in node.args]
    except _LITERAL_ERRORS:
        return None


def _sequence(value: list | tuple | str, rng: random.Random) -> list | tuple | str:
    """A same-type sequence: shuffled (most often: order is what sorted examples never
    vary), reversed, one element dropped or one repeated."""
    items = list(value)
    choice = rng.choice(("shuffle", "shuffle", "reverse", "drop", "repeat"))
    shown = list(map(repr, items))  # by repr: 1 and 1.0 are equal, and still two orders
    if choice == "shuffle" and len(set(shown)) > 1:
        while list(map(repr, items)) == shown:
            rng.shuffle(items)
    elif choice == "reverse":
        items.reverse()
    elif choice == "drop" and items:
        del items[rng.randrange(len(items))]
    elif items:
        i = rng.randrange(len(items))
        items.insert(i, items[i])
    if isinstance(value, str):
        return "".join(items)
    return type(value)(items)


def _number(value: int | float, rng: random.Random) -> int | float:
    step = rng.choice((1, -1, 2))
    if isinstance(value, float):
        return rng.choice((value + step * 0.5, -value, value * 1.5))
    return rng.choice((value + step, -value, 0)) if value else step


def _mutate(value: object, rng: random.Random, depth: int = 0) -> object:
    """`value` changed once, keeping its type: at the top, or inside one element."""
    if value is None:
        return None
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return _number(value, rng)
    if isinstance(value, str | list | tuple):
        if depth < 2 and value and not isinstance(value, str) and rng.random() < 0.3:
            items = list(value)
            i = rng.randrange(len(items))
            items[i] = _mutate(items[i], rng, depth + 1)
            return type(value)(items)
        return _sequence(value, rng)
    if isinstance(value, dict) and value:
        items = dict(value)
        key = rng.choice(list(items))
        if rng.random() < 0.5:
            del items[key]
        else:
            items[key] = _mutate(items[key], rng, depth + 1)
        return items
    return value


def _call(entry_point: str, args: list[object]) -> str:
    return f"{entry_point}({', '.join(map(repr, args))})"


def mutated_calls(
    calls: list[str], entry_point: str, n: int, seed: int = 0, max_chars: int = 400
) -> list[str]:
    """Up to n new calls of `entry_point`, each one of `calls` with one argument mutated.

    Deterministic for a seed. Skips calls equal to one of `calls`, and calls longer than
    `max_chars`. Fewer than n when the calls give too little to mutate.
    """
    parsed = [args for args in (_parse(c, entry_point) for c in calls) if args]
    if not parsed or n <= 0:
        return []
    rng = random.Random(seed)
    seen = set(calls) | {_call(entry_point, args) for args in parsed}
    out: list[str] = []
    for attempt in range(n * 8):
        # Every call in turn, and in each every argument in turn, mutated once.
        args = list(parsed[attempt % len(parsed)])
        i = (attempt // len(parsed)) % len(args)
        args[i] = _mutate(args[i], rng)
        call = _call(entry_point, args)
        if call in seen or len(call) > max_chars:
            continue
        seen.add(call)
        out.append(call)
        if len(out) >= n:
            break
    return out
