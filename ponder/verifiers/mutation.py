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

import random

from ponder.task import VisibleTask
from ponder.verifiers.suite import (
    MAX_CALL_CHARS,
    GeneratedTest,
    Suite,
    call_arguments,
    format_call,
    parse_calls,
    parse_expression,
)


def _positional(call: str, entry_point: str) -> list[object] | None:
    """The literal positional arguments of a call of `entry_point` without keywords, or None."""
    node = parse_expression(call)
    found = call_arguments(node, entry_point) if node is not None else None
    return found[0] if found is not None and not found[1] else None


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


def mutated_calls(
    calls: list[str], entry_point: str, n: int, seed: int = 0, max_chars: int = MAX_CALL_CHARS
) -> list[str]:
    """Up to n new calls of `entry_point`, each one of `calls` with one argument mutated.

    Deterministic for a seed. Skips calls equal to one of `calls`, and calls longer than
    `max_chars`. Fewer than n when the calls give too little to mutate.
    """
    parsed = [args for args in (_positional(c, entry_point) for c in calls) if args]
    if not parsed or n <= 0:
        return []
    rng = random.Random(seed)
    seen = set(calls) | {format_call(entry_point, args, {}) for args in parsed}
    out: list[str] = []
    for attempt in range(n * 8):
        # Every call in turn, and in each every argument in turn, mutated once.
        args = list(parsed[attempt % len(parsed)])
        i = (attempt // len(parsed)) % len(args)
        args[i] = _mutate(args[i], rng)
        call = format_call(entry_point, args, {})
        if call in seen or len(call) > max_chars:
            continue
        seen.add(call)
        out.append(call)
        if len(out) >= n:
            break
    return out


def with_mutants(suite: Suite, task: VisibleTask, n: int, seed: int = 0) -> Suite:
    """`suite` plus up to n inputs mutated from the public examples and its own inputs,
    without expected values. When the model wrote no usable inputs, the public examples'
    mutants alone still split behaviour groups: they cost no tokens."""
    entry = task.entry_point
    if not entry:
        return suite
    public = parse_calls("\n".join(task.public_tests), entry, 32)
    mutants = mutated_calls(public + suite.calls, entry, n, seed)
    suite.tests += [GeneratedTest(call) for call in mutants]
    return suite
