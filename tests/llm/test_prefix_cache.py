"""The batching engine's pure parts: prefix-cache bookkeeping and stop-string detection."""

from __future__ import annotations

from ponder.llm.llamacpp.prefix import PrefixCache, common_prefix
from ponder.llm.llamacpp.sequences import StopText


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([5], [1]) == 0


def test_match_picks_the_longest_shared_prefix():
    cache = PrefixCache(max_entries=4, max_tokens=100)
    assert cache.add(10, [1, 2, 3, 4]) == []
    assert cache.add(11, [1, 2, 9, 9, 9]) == []
    hit = cache.match([1, 2, 3, 7])
    assert hit is not None and (hit.seq, hit.length) == (10, 3)
    assert cache.match([8, 8]) is None


def test_evicts_least_recently_used_by_entries():
    cache = PrefixCache(max_entries=2, max_tokens=100)
    cache.add(1, [1, 1])
    cache.add(2, [2, 2])
    cache.match([1, 1, 5])  # 1 is now the most recent
    assert cache.add(3, [3, 3]) == [2]
    assert {cache.match([1]).seq, cache.match([3]).seq} == {1, 3}


def test_evicts_by_tokens_and_refuses_what_cannot_fit():
    cache = PrefixCache(max_entries=8, max_tokens=5)
    cache.add(1, [1, 1, 1])
    assert cache.add(2, [2, 2, 2]) == [1]
    assert cache.tokens == 3
    assert cache.add(3, [3] * 6) == [3]  # longer than the whole budget: dropped at once
    assert cache.tokens == 3 and len(cache) == 1


def test_an_entry_that_prefixes_the_new_one_is_replaced():
    cache = PrefixCache(max_entries=8, max_tokens=100)
    cache.add(1, [1, 2])
    cache.add(2, [1, 2])  # same prompt again: the older entry is redundant
    assert cache.add(3, [1, 2, 3]) == [2]
    assert len(cache) == 1 and cache.match([1, 2, 3]).seq == 3
    assert cache.clear() == [3] and len(cache) == 0


def test_stop_text_finds_a_stop_split_across_tokens():
    text = StopText(("END",))
    assert not text.push(b"abc E")
    assert not text.push(b"N")
    assert text.push(b"D more")
    assert text.text == "abc "


def test_stop_text_without_stops_and_partial_utf8():
    text = StopText(())
    assert not text.push("é".encode()[:1])
    assert text.text == ""  # an unfinished character is left out
    text.push("é".encode()[1:])
    assert text.text == "é"
