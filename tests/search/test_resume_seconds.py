"""A resumed run counts the wall seconds of the part before the crash against max_seconds."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ponder.config import RunConfig
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.runner import resume_run, solve_task
from tests.search.scripted import Responder, math_task

DELAY = 0.5  # seconds each model call of the first part takes


class Crash(RuntimeError):
    """The process 'dies' here."""


class SlowThenCrash(ScriptedLLM):
    """The scripted model, slow, failing at call `crash_at` (as a killed process would stop)."""

    def __init__(self, crash_at: int) -> None:
        super().__init__(Responder())
        self.crash_at = crash_at

    async def generate(self, messages, params):
        if len(self.calls) + 1 == self.crash_at:
            raise Crash(f"call {self.crash_at}")
        gen = await super().generate(messages, params)
        await asyncio.sleep(DELAY)
        return gen


async def _crashed_run(tmp_path: Path) -> Path:
    """refine on a math task, stopped in its refine phase: solve and review (2 slow calls) done."""
    run_dir = tmp_path / "run"
    config = RunConfig(
        strategy="refine",
        search={"max_rounds": 2},
        model="scripted",
        budget={"tokens": None},
        checkpoint_every="phase",
    )
    with pytest.raises(Crash):
        await solve_task(math_task(), config, model=ModelClient(SlowThenCrash(3)), out_dir=run_dir)
    assert not (run_dir / "result.json").exists()
    return run_dir


async def test_resume_carries_the_wall_seconds_already_spent(tmp_path):
    run_dir = await _crashed_run(tmp_path)
    started = time.monotonic()
    result = await resume_run(run_dir, model=ModelClient(ScriptedLLM(Responder())))
    resumed_for = time.monotonic() - started
    assert result.resumed and result.solution == "42"
    # The budget's clock includes the two slow calls checkpointed before the crash.
    assert result.budget["wall_seconds"] >= resumed_for + 2 * DELAY - 0.1


async def test_max_seconds_counts_the_whole_run(tmp_path):
    run_dir = await _crashed_run(tmp_path)
    record = json.loads((run_dir / "config.json").read_text())
    record["config"]["budget"]["seconds"] = 2 * DELAY - 0.2  # already spent before the crash
    (run_dir / "config.json").write_text(json.dumps(record))
    llm = ScriptedLLM(Responder())
    result = await resume_run(run_dir, model=ModelClient(llm))
    assert result.stop_reason.startswith("budget: wall seconds limit")
    assert llm.calls == []  # the resumed run started no work past the limit
