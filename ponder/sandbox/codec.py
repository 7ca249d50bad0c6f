"""Plain-data codec between the judge and the candidate's process: JSON with tagged types, no pickle.

Pure standard library (copied into the sandbox image). Encoding accepts builtin value types and
their subclasses, written as the base type (an `int` subclass crosses as a plain `int`, a
`Counter` as a `dict`, a namedtuple as a `tuple`), so no object the candidate defines crosses
with its own methods. Decoding trusts nothing: it rebuilds exact builtin types from a strict
grammar and refuses anything else with `CodecError`.

Wire grammar: null, true, false, JSON ints, JSON floats (NaN, Infinity, -0.0 as Python's json
writes them) and strings are themselves; everything else is a one-key object:
{"l": [..]} list, {"t": [..]} tuple, {"s": [..]} set, {"f": [..]} frozenset,
{"d": [[k, v], ..]} dict, {"b": hex} bytes, {"ba": hex} bytearray, {"i": hex} big int,
{"c": [re, im]} complex, {"r": [start, stop, step]} range, {"q": [num, den]} Fraction,
{"m": str} Decimal, {"it": [..]} an iterator's items (decoded as an iterator over a list),
{"rm": [spans, groups]} a regular-expression match (decoded as `MatchData`, the judge's own
class: only its spans and matched text cross, never the candidate's object).
"""

from __future__ import annotations

import decimal
import fractions
import itertools
import json
import math
import re
import types

MAX_DEPTH = 100
MAX_ITEMS = 1_000_000  # items taken from a returned iterator (endless generators)
BIG_INT = 1 << 62  # larger ints cross as hex (no int-to-str digit limit, no float rounding)
_ITERATORS = (
    types.GeneratorType,
    map,
    filter,
    zip,
    enumerate,
    reversed,
    itertools.chain,
    itertools.islice,
    type(iter([])),
    type(iter(())),
    type(iter("")),
    type(iter(range(0))),
    type(iter({})),
    type(iter(set())),
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)


class CodecError(ValueError):
    """A value that cannot cross (encode side) or a message that breaks the grammar (decode)."""


class MatchData:
    """A match that crossed as data (spans and groups); truthy like `re.Match`, equal only to itself."""

    __slots__ = ("_spans", "_groups")

    def __init__(self, spans: tuple, groups: tuple) -> None:
        self._spans = spans
        self._groups = groups

    def span(self, group: int = 0) -> tuple:
        return self._spans[group]

    def start(self, group: int = 0) -> int:
        return self._spans[group][0]

    def end(self, group: int = 0) -> int:
        return self._spans[group][1]

    def group(self, *indices: int) -> object:
        if len(indices) > 1:
            return tuple(self._groups[i] for i in indices)
        return self._groups[indices[0] if indices else 0]

    def groups(self, default: object = None) -> tuple:
        return tuple(default if g is None else g for g in self._groups[1:])

    def __getitem__(self, group: int) -> object:
        return self._groups[group]

    def __repr__(self) -> str:
        return f"<match span={self._spans[0]} match={self._groups[0]!r}>"


def dumps(value: object) -> str:
    """The wire text of `value`; raises CodecError for what cannot cross."""
    return json.dumps(encode(value), allow_nan=True, separators=(",", ":"))


def loads(text: str | bytes) -> object:
    """The value a wire text denotes, as exact builtin types; raises CodecError otherwise."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not a valid message: {str(exc)[:200]}") from None
    return decode(raw)


def encode(value: object, depth: int = 0, seen: frozenset[int] = frozenset()) -> object:
    """A JSON-ready structure for `value` (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        number = int.__index__(value)
        return number if -BIG_INT < number < BIG_INT else {"i": hex(number)}
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, complex):
        return {"c": [complex.__complex__(value).real, complex.__complex__(value).imag]}
    if isinstance(value, bytearray):
        return {"ba": bytes(value).hex()}
    if isinstance(value, bytes):
        return {"b": bytes(value).hex()}
    if isinstance(value, fractions.Fraction):
        return {"q": [encode(value.numerator), encode(value.denominator)]}
    if isinstance(value, decimal.Decimal):
        return {"m": str(value)}
    if isinstance(value, re.Match):
        count = len(value.groups()) + 1
        spans = [value.span(i) for i in range(count)]
        return {"rm": [encode(spans), encode([value.group(i) for i in range(count)])]}
    if isinstance(value, range):
        return {"r": [encode(value.start), encode(value.stop), encode(value.step)]}
    if id(value) in seen:
        raise CodecError("value contains itself (a cycle)")
    inner = seen | {id(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        tag = {list: "l", tuple: "t", set: "s", frozenset: "f"}[_base(value)]
        return {tag: [encode(item, depth + 1, inner) for item in value]}
    if isinstance(value, dict):
        pairs = dict.items(value)
        return {"d": [[encode(k, depth + 1, inner), encode(v, depth + 1, inner)] for k, v in pairs]}
    if isinstance(value, _ITERATORS):
        items = list(itertools.islice(value, MAX_ITEMS + 1))
        if len(items) > MAX_ITEMS:
            raise CodecError(f"returned an iterator with more than {MAX_ITEMS} items")
        return {"it": [encode(item, depth + 1, inner) for item in items]}
    raise CodecError(
        f"a value of type {type(value).__name__} cannot cross to the judge "
        "(only plain data: numbers, str, bytes, None, bool, list, tuple, dict, set, ...)"
    )


def _base(value: object) -> type:
    for kind in (list, tuple, frozenset, set):
        if isinstance(value, kind):
            return kind
    raise CodecError(f"unexpected container {type(value).__name__}")


def decode(raw: object, depth: int = 0) -> object:
    """Exact builtin values from a parsed wire structure."""
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(raw)
    if raw is None or kind in (bool, int, float, str):
        return raw
    if kind is not dict or len(raw) != 1:
        raise CodecError(f"unexpected {kind.__name__} in a value")
    ((tag, body),) = raw.items()
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise CodecError(f"unknown value tag {tag!r}")
    try:
        return decoder(body, depth + 1)
    except CodecError:
        raise
    except (TypeError, ValueError, ArithmeticError, decimal.InvalidOperation) as exc:
        raise CodecError(f"malformed {tag!r} value: {str(exc)[:200]}") from None


def _items(body: object, depth: int) -> list:
    if type(body) is not list:
        raise CodecError("expected a list of items")
    return [decode(item, depth) for item in body]


def _hex(body: object) -> str:
    if type(body) is not str or len(body) > 1 << 26:
        raise CodecError("expected a hex string")
    return body


def _int(value: object) -> int:
    if type(value) is not int:
        raise CodecError("expected an int")
    return value


def _number(value: object) -> float:
    if type(value) not in (int, float):
        raise CodecError("expected a number")
    return float(value)


def _pair(body: object, depth: int) -> tuple:
    if type(body) is not list or len(body) != 2:
        raise CodecError("expected two items")
    return tuple(decode(item, depth) for item in body)


def _dict(body: object, depth: int) -> dict:
    if type(body) is not list:
        raise CodecError("expected a list of pairs")
    return dict(_pair(pair, depth) for pair in body)


def _range(body: object, depth: int) -> range:
    if type(body) is not list or len(body) != 3:
        raise CodecError("expected start, stop, step")
    return range(*(_int(decode(item, depth)) for item in body))


def _fraction(body: object, depth: int) -> fractions.Fraction:
    num, den = _pair(body, depth)
    return fractions.Fraction(_int(num), _int(den))


def _decimal(body: object, depth: int) -> decimal.Decimal:
    if type(body) is not str or len(body) > 10_000:
        raise CodecError("expected a decimal string")
    return decimal.Decimal(body)


def _complex(body: object, depth: int) -> complex:
    if type(body) is not list or len(body) != 2:
        raise CodecError("expected real and imaginary parts")
    return complex(_number(body[0]), _number(body[1]))


def _big(body: object, depth: int) -> int:
    text = _hex(body)
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
    if not digits.startswith("0x"):
        raise CodecError("expected 0x-prefixed hex")
    return sign * int(digits[2:], 16)


def _match(body: object, depth: int) -> MatchData:
    spans, groups = _pair(body, depth)
    if (
        type(spans) is not list
        or type(groups) is not list
        or len(spans) != len(groups)
        or not spans
    ):
        raise CodecError("expected spans and groups of equal length")
    for span in spans:
        if type(span) is not tuple or len(span) != 2 or any(type(i) is not int for i in span):
            raise CodecError("expected (start, end) spans")
    if any(type(g) not in (str, bytes, type(None)) for g in groups):
        raise CodecError("expected str, bytes or None groups")
    return MatchData(tuple(spans), tuple(groups))


_DECODERS = {
    "l": lambda body, depth: _items(body, depth),
    "t": lambda body, depth: tuple(_items(body, depth)),
    "s": lambda body, depth: set(_items(body, depth)),
    "f": lambda body, depth: frozenset(_items(body, depth)),
    "d": _dict,
    "b": lambda body, depth: bytes.fromhex(_hex(body)),
    "ba": lambda body, depth: bytearray.fromhex(_hex(body)),
    "i": _big,
    "c": _complex,
    "r": _range,
    "q": _fraction,
    "m": _decimal,
    "it": lambda body, depth: iter(_items(body, depth)),
    "rm": _match,
}


def same_float(a: float, b: float) -> bool:
    """Bitwise float identity (nan == nan, 0.0 != -0.0): what a round trip must keep."""
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )
