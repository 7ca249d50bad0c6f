"""The response cache: hits, misses, --no-cache, accounting, and two writer processes at once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ponder.budget import Budget
from ponder.llm import Completion, Generation, ModelClient, ResponseCache, SamplingParams
from ponder.llm.base import TokenLogprob
from ponder.llm.cache import cache_key
from ponder.llm.registry import ALLOW_SCRIPTED_ENV, open_model
from ponder.llm.scripted import ScriptedLLM

MSGS = [{"role": "user", "content": "What is 2+2?"}]
REPO = Path(__file__).resolve().parents[2]


async def test_miss_then_hit(tmp_path, scripted):
    client = ModelClient(scripted, ResponseCache(tmp_path / "c.sqlite"))
    first = await client.generate(MSGS, SamplingParams())
    second = await client.generate(MSGS, SamplingParams())
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text == "alpha"
    assert len(scripted.calls) == 1
    assert client.cache.stats.hits == 1 and client.cache.stats.misses == 1


async def test_key_covers_model_messages_and_params(tmp_path, scripted):
    cache = ResponseCache(tmp_path / "c.sqlite")
    client = ModelClient(scripted, cache)
    await client.generate(MSGS, SamplingParams())
    await client.generate(MSGS, SamplingParams(max_tokens=7))
    await client.generate(MSGS, SamplingParams(temperature=0.7, seed=1))
    await client.generate(MSGS, SamplingParams(temperature=0.7, seed=2))
    await client.generate([{"role": "user", "content": "What is 3+3?"}], SamplingParams())
    assert len(scripted.calls) == 5 and len(cache) == 5
    other = ModelClient(type(scripted)(["zzz"], name="scripted:other"), cache)
    assert (await other.generate(MSGS, SamplingParams())).text == "zzz"


async def test_key_covers_the_engine_and_the_model_file(tmp_path, monkeypatch):
    """Another llama.cpp build or a replaced model file is asked again, not replayed: greedy
    answers differ across builds, and provenance would credit the replay to the new one."""
    import ponder.provenance

    model_file = tmp_path / "m.gguf"
    model_file.write_bytes(b"weights one")
    name = f"local:{model_file}"
    cache = ResponseCache(tmp_path / "c.sqlite")
    build = {"engine": "llama-cpp-python 0.3.36 (CPU: AVX2)"}
    monkeypatch.setattr(ponder.provenance, "engine", lambda model: build["engine"])

    def client(replies: list[str]) -> ModelClient:
        return ModelClient(ScriptedLLM(replies, name=name), cache)

    assert (await client(["first"]).generate(MSGS, SamplingParams())).text == "first"
    assert (await client(["again"]).generate(MSGS, SamplingParams())).text == "first"  # a hit
    build["engine"] = "llama-cpp-python 0.3.37 (CPU: AVX2 AVX512)"
    assert (await client(["new build"]).generate(MSGS, SamplingParams())).text == "new build"
    model_file.write_bytes(b"weights two, fine-tuned")
    assert (await client(["new file"]).generate(MSGS, SamplingParams())).text == "new file"
    assert len(cache) == 3


async def test_unseeded_sampling_is_not_cached(tmp_path, scripted):
    client = ModelClient(scripted, ResponseCache(tmp_path / "c.sqlite"))
    a = await client.generate(MSGS, SamplingParams(temperature=0.8))
    b = await client.generate(MSGS, SamplingParams(temperature=0.8))
    assert (a.text, b.text) == ("alpha", "beta") and not b.cached
    assert len(client.cache) == 0


async def test_seeded_sampling_is_cached(tmp_path, scripted):
    client = ModelClient(scripted, ResponseCache(tmp_path / "c.sqlite"))
    params = SamplingParams(n=2, temperature=0.8, seed=11)
    a = await client.generate(MSGS, params)
    b = await client.generate(MSGS, params)
    assert [c.text for c in b.completions] == [c.text for c in a.completions] == ["alpha", "beta"]
    assert b.cached


async def test_no_cache_via_open_model(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_SCRIPTED_ENV, "1")
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps(["first", "second"]))
    cache_path = tmp_path / "c.sqlite"
    uncached = open_model(f"scripted:{replies}", cache=False, cache_path=cache_path)
    assert uncached.cache is None
    texts = [(await uncached.generate(MSGS, SamplingParams())).text for _ in range(2)]
    assert texts == ["first", "second"]
    assert not cache_path.exists()
    cached = open_model(f"scripted:{replies}", cache_path=cache_path)
    texts = [(await cached.generate(MSGS, SamplingParams())).text for _ in range(2)]
    assert texts == ["first", "first"]


async def test_budget_charges_hits_as_spent_but_flagged(tmp_path, scripted):
    client = ModelClient(scripted, ResponseCache(tmp_path / "c.sqlite"))
    budget = Budget()
    first = await client.generate(MSGS, SamplingParams(), budget)
    await client.generate(MSGS, SamplingParams(), budget)
    s = budget.spent
    assert s.llm_calls == 2 and s.cached_calls == 1
    assert s.completion_tokens == 2 * first.completion_tokens
    assert s.prompt_tokens == 2 * first.prompt_tokens


def test_roundtrip_keeps_logprobs_and_counts(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    gen = Generation(
        completions=[
            Completion("x", "length", 3, [TokenLogprob("x", -0.25, {"x": -0.25, "y": -1.5})]),
            Completion("yy", "stop", 1),
        ],
        prompt_tokens=17,
        model="m",
        seconds=1.5,
    )
    cache.put("m", MSGS, SamplingParams(n=2), gen)
    back = cache.get("m", MSGS, SamplingParams(n=2))
    assert back.cached and not gen.cached
    back.cached = False
    assert back == gen
    assert cache.get("m", MSGS, SamplingParams(n=1)) is None


def test_key_is_stable_and_order_sensitive():
    a = cache_key("m", MSGS, SamplingParams())
    assert a == cache_key("m", [dict(MSGS[0])], SamplingParams())
    two = [{"role": "system", "content": "s"}, *MSGS]
    assert cache_key("m", two, SamplingParams()) != cache_key("m", two[::-1], SamplingParams())
    assert cache_key("m", MSGS, SamplingParams(stop=("a", "b"))) != cache_key(
        "m", MSGS, SamplingParams(stop=("b", "a"))
    )


def test_unwritable_cache_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        ResponseCache(blocker / "sub" / "c.sqlite").get("m", MSGS, SamplingParams())
    assert "--no-cache" in err.value.fix


WRITER = textwrap.dedent(
    """
    import asyncio, pathlib, sys, time
    from ponder.llm import ModelClient, ResponseCache, SamplingParams
    from ponder.llm.scripted import ScriptedLLM

    path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = ModelClient(ScriptedLLM(lambda m, p: [tag + ":" + m[0]["content"]], name="shared"),
                         ResponseCache(path))
    len(client.cache)  # open the database before the start signal
    pathlib.Path(path + ".ready-" + tag).touch()
    while not pathlib.Path(path + ".go").exists():  # start together with the other writer
        time.sleep(0.005)

    async def main():
        for i in range(count):
            # half the prompts are private to this writer, half are shared with the other one
            prompt = f"{tag}-{i}" if i % 2 else f"shared-{i}"
            await client.generate([{"role": "user", "content": prompt}], SamplingParams(seed=i))

    asyncio.run(main())
    print("done", client.cache.stats.writes)
    """
)


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    count = 600
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag, str(count)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"shared.sqlite.ready-{t}").exists() for t in "ab"):
        dead = [p.communicate()[1] for p in procs if p.poll() is not None]
        assert not dead, dead  # e.g. both opening the new database at once (WAL switch)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (tmp_path / "shared.sqlite.go").touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("done")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    cache = ResponseCache(path)
    assert len(cache) == count // 2 * 2 + count // 2  # private a, private b, shared once
    for i in range(count):
        for tag in ("a", "b"):
            prompt = f"{tag}-{i}" if i % 2 else f"shared-{i}"
            gen = cache.get("shared", [{"role": "user", "content": prompt}], SamplingParams(seed=i))
            assert gen is not None and gen.cached
            assert gen.text.endswith(":" + prompt)
