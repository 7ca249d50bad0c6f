"""Which recent prompts still hold KV in spare sequences, matched by longest common token prefix."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PrefixHit:
    seq: int  # the sequence whose cells hold the prefix
    length: int  # tokens shared with the new prompt
    payload: Any = None  # what was stored with the entry, when it is the whole new prompt


def common_prefix(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PrefixCache:
    """Bookkeeping only: seq id -> prompt tokens, least recently used first.

    Bounded by entries (each holds a seq id) and by tokens (each token holds one KV cell unless
    another sequence shares it); callers drop the KV of every seq id this returns as evicted.
    """

    def __init__(self, max_entries: int, max_tokens: int) -> None:
        self.max_entries = max_entries
        self.max_tokens = max_tokens
        self._entries: OrderedDict[int, tuple[int, ...]] = OrderedDict()
        self._payloads: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def tokens(self) -> int:
        return sum(len(t) for t in self._entries.values())

    def match(self, prompt: list[int]) -> PrefixHit | None:
        """The entry sharing the longest prefix with `prompt` (marked as used), if any."""
        best: PrefixHit | None = None
        for seq, tokens in self._entries.items():
            n = common_prefix(tokens, prompt)
            if n and (best is None or n > best.length):
                exact = n == len(tokens) == len(prompt)
                best = PrefixHit(seq, n, self._payloads.get(seq) if exact else None)
        if best is not None:
            self._entries.move_to_end(best.seq)
        return best

    def add(self, seq: int, prompt: list[int], payload: Any = None) -> list[int]:
        """Keep `seq` as holding `prompt` (and `payload`); returns the seq ids evicted.

        An entry whose tokens are a prefix of `prompt` is redundant (the new one holds the same
        cells, copied from it), so it goes first.
        """
        tokens = tuple(prompt)
        evicted = [s for s, t in self._entries.items() if tokens[: len(t)] == t]
        for s in evicted:
            self._forget(s)
        if len(tokens) > self.max_tokens or self.max_entries < 1:
            return [*evicted, seq]
        self._entries[seq] = tokens
        self._payloads[seq] = payload
        while len(self._entries) > self.max_entries or self.tokens > self.max_tokens:
            evicted.append(self.pop_oldest())
        return evicted

    def pop_oldest(self) -> int:
        seq = next(iter(self._entries))
        self._forget(seq)
        return seq

    def clear(self) -> list[int]:
        seqs = list(self._entries)
        for seq in seqs:
            self._forget(seq)
        return seqs

    def _forget(self, seq: int) -> None:
        del self._entries[seq]
        self._payloads.pop(seq, None)
