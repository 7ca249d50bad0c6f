"""The judge's value codec: exact round trips for plain data, refusals for everything else."""

from __future__ import annotations

import collections
import decimal
import fractions
import math

import pytest

from ponder.sandbox import codec

ROUND_TRIP = [
    None, True, False, 0, -1, 2**62 - 1, 2**62, -(2**200), 10**1000, 1.5, -0.0, math.inf,
    -math.inf, "", "h\u00e9\ud800", b"\x00\xff", bytearray(b"ab"), [], (), [1, (2, [3])],
    (1,), {1, 2}, frozenset({(1, 2)}), {"a": 1, (1, 2): [None]}, {frozenset({1}): {2: 3}},
    1 + 2j, range(1, 10, 3), fractions.Fraction(1, 3), decimal.Decimal("1.10"),
]  # fmt: skip


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_plain_values_round_trip_with_exact_types(value: object) -> None:
    back = codec.loads(codec.dumps(value))
    assert type(back) is type(value)
    assert back == value
    assert repr(back) == repr(value)


def test_nan_and_negative_zero_survive() -> None:
    assert math.isnan(codec.loads(codec.dumps(math.nan)))
    assert math.copysign(1, codec.loads(codec.dumps(-0.0))) == -1


def test_bool_stays_apart_from_int() -> None:
    assert codec.loads(codec.dumps([True, 1, False, 0])) == [True, 1, False, 0]
    assert [type(x) for x in codec.loads(codec.dumps([True, 1]))] == [bool, int]


def test_subclasses_cross_as_their_base_type_without_their_methods() -> None:
    class Liar(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

        def __index__(self) -> int:
            return 99

    point = collections.namedtuple("point", "x y")(1, 2)
    values = [Liar(5), collections.Counter("aab"), collections.OrderedDict(a=1), point]
    back = codec.loads(codec.dumps(values))
    assert back == [5, {"a": 2, "b": 1}, {"a": 1}, (1, 2)]
    assert [type(x) for x in back] == [int, dict, dict, tuple]


def test_iterators_cross_as_iterators() -> None:
    back = codec.loads(codec.dumps(x * 2 for x in range(3)))
    assert not isinstance(back, list) and list(back) == [0, 2, 4]


@pytest.mark.parametrize(
    "value",
    [object(), lambda: 1, type, math, open, Exception("x")],
    ids=["object", "lambda", "type", "module", "builtin", "exception"],
)
def test_objects_are_refused(value: object) -> None:
    with pytest.raises(codec.CodecError):
        codec.dumps(value)


def test_cycles_and_depth_are_refused() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(codec.CodecError, match="itself"):
        codec.dumps(loop)
    deep: object = 0
    for _ in range(codec.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(codec.CodecError, match="deeper"):
        codec.dumps(deep)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]", "{}", '{"l": [1], "t": [2]}', '{"x": 1}', '{"l": 5}', '{"s": [{"l": []}]}',
        '{"d": [[{"l": []}, 1]]}', '{"d": [[1]]}', '{"b": "zz"}', '{"i": "12"}', '{"r": [1, 2]}',
        '{"q": [1, 0]}', '{"c": ["a", 1]}', '{"m": 5}', "{" * 100_000, "nope", '{"__eq__": 1}',
    ],
)  # fmt: skip
def test_malformed_messages_are_refused(text: str) -> None:
    with pytest.raises(codec.CodecError):
        codec.loads(text)


def test_a_match_crosses_as_the_judges_match_data() -> None:
    import re

    back = codec.loads(codec.dumps(re.search(r"(a)(x)?b", "zab")))
    assert isinstance(back, codec.MatchData) and back
    assert (back.span(), back.group(), back.groups(), back.start(1)) == (
        (1, 3),
        "ab",
        ("a", None),
        1,
    )
    assert back != (1, 3) and back != "ab"  # equal only to itself


@pytest.mark.parametrize(
    "text",
    ['{"rm": 1}', '{"rm": [{"l": []}, {"l": []}]}', '{"rm": [{"l": [{"t": [1, "x"]}]}, {"l": ["a"]}]}',
     '{"rm": [{"l": [{"t": [1, 2]}]}, {"l": [3]}]}'],
)  # fmt: skip
def test_malformed_matches_are_refused(text: str) -> None:
    with pytest.raises(codec.CodecError):
        codec.loads(text)
