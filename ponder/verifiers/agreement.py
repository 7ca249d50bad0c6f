"""Execution agreement: group candidates by behaviour and rank the groups by dual agreement (CodeT).

Pure functions, no I/O. A candidate's behaviour is its pass/fail on the public tests plus what
it returned (or raised) on each generated input. Candidates with the same behaviour form a
group, whatever their program text. A group's dual agreement is its size times (1 + the
generated tests whose expected value it matches): agreement alone still ranks when the
model's expected values are all wrong, and an expected value alone never outranks a crowd.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from ponder.verifiers.suite import Suite

PUBLIC_WEIGHT = 3.0
"""How much a public test outweighs the generated ones, by default."""


@dataclass(frozen=True)
class Behaviour:
    """What one candidate did: public tests passed or not, and each generated call's outcome."""

    public: tuple[bool, ...]
    keys: tuple[str, ...]  # `testcalls.value_key` per generated input (or raised:/failed:)
    shown: tuple[str, ...]  # the same outcomes as people read them

    @property
    def key(self) -> tuple:
        """Equal for candidates that behave the same (program text plays no part)."""
        return (self.public, self.keys)


@dataclass(frozen=True)
class Standing:
    """A candidate's place in the pool."""

    group: int  # groups are numbered by their first candidate's position
    size: int
    matched: int  # generated tests whose expected value the group's outputs match
    dual: int  # size * (1 + matched)
    rank: int  # 0 = the best group; ties go to the group whose first candidate came first


def behaviour_digest(behaviour: Behaviour) -> str:
    """A short stable name of the behaviour: equal for candidates in one group (the bench's
    sample pools store it, to re-form the groups inside any subset of the samples)."""
    return hashlib.sha256(repr(behaviour.key).encode()).hexdigest()[:16]


def cluster(behaviours: list[Behaviour]) -> list[int]:
    """A group label per candidate: candidates with equal behaviour share one."""
    labels: dict[tuple, int] = {}
    return [labels.setdefault(b.key, len(labels)) for b in behaviours]


def matched(behaviour: Behaviour, suite: Suite) -> int:
    return sum(
        t.expected_key is not None and t.expected_key == key
        for t, key in zip(suite.tests, behaviour.keys, strict=False)
    )


def standings(behaviours: list[Behaviour], suite: Suite) -> list[Standing]:
    """Each candidate's group, the group's dual agreement and its rank."""
    labels = cluster(behaviours)
    sizes = Counter(labels)
    first = {label: behaviours[labels.index(label)] for label in sizes}
    dual = {label: sizes[label] * (1 + matched(first[label], suite)) for label in sizes}
    order = sorted(sizes, key=lambda label: (-dual[label], label))
    rank = {label: place for place, label in enumerate(order)}
    return [
        Standing(
            group=label,
            size=sizes[label],
            matched=matched(first[label], suite),
            dual=dual[label],
            rank=rank[label],
        )
        for label in labels
    ]


def agreement_score(
    size: int, matched: int, checked: int, of: int, public: tuple[bool, ...], public_weight: float
) -> float:
    """A candidate's score among `of` candidates: its group's dual agreement, over its most
    (of * (1 + checked)), mixed with the fraction of public tests it passes, weighted
    `public_weight` to 1 (the agreement alone when the task has no public tests)."""
    agreement = size * (1 + matched) / (of * (1 + checked))
    if not public:
        return min(1.0, agreement)
    fraction = sum(public) / len(public)
    return min(1.0, (public_weight * fraction + agreement) / (public_weight + 1))


def disagreements(
    index: int, behaviours: list[Behaviour], suite: Suite, limit: int = 4
) -> list[dict]:
    """Inputs where candidate `index` differs from another candidate or from the expected
    value: the input, its output, the others' outputs (with counts) and the expected value."""
    mine = behaviours[index]
    out = []
    for i, test in enumerate(suite.tests):
        if i >= len(mine.keys):
            break
        others = Counter(
            b.shown[i] for j, b in enumerate(behaviours) if j != index and b.keys[i] != mine.keys[i]
        )
        off_expected = test.expected_key is not None and test.expected_key != mine.keys[i]
        if others or off_expected:
            out.append(
                {
                    "input": test.call,
                    "output": mine.shown[i],
                    "others": dict(others.most_common(3)),
                    "expected": test.expected,
                }
            )
        if len(out) >= limit:
            break
    return out


def describe(rows: list[dict], standing: Standing, of: int, suite: Suite) -> str:
    """Feedback a reviewer can act on: where this candidate disagrees, and with what."""
    head = (
        f"generated tests (inputs and expected values written by the model, which may be "
        f"wrong): this candidate behaves like {standing.size} of {of} candidates and matches "
        f"{standing.matched} of {suite.checked} expected values"
    )
    lines = [head]
    for row in rows:
        parts = [f"{row['input']} returned {row['output']}"]
        for out, count in row["others"].items():
            parts.append(f"{count} other candidate{'s' * (count > 1)} returned {out}")
        if row["expected"] is not None:
            parts.append(f"expected {row['expected']}")
        lines.append("  " + "; ".join(parts))
    return "\n".join(lines)
