"""A solve run in its own process for the kill -9 test: `resume_harness.py new|resume RUN_DIR CALLS CACHE GRAIN`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ponder.config import RunConfig  # noqa: E402
from ponder.llm.cache import ResponseCache  # noqa: E402
from ponder.llm.client import ModelClient  # noqa: E402
from ponder.llm.scripted import ScriptedLLM  # noqa: E402
from ponder.runner import resume_run, solve_task  # noqa: E402
from tests.search.conftest import InstantSandbox  # noqa: E402
from tests.search.scripted import BAD_PLAN, Responder, code_task  # noqa: E402


def config(grain: str) -> RunConfig:
    return RunConfig(
        strategy="mcts",
        search={"k": 2, "max_iterations": 6, "max_depth": 3},
        model="scripted",
        sandbox="local",
        budget={"tokens": None},
        checkpoint_every=grain,
    )


class SlowLLM(ScriptedLLM):
    """The scripted model, slowed down so a kill lands mid-run."""

    def __init__(self) -> None:
        super().__init__(Responder(plans=(BAD_PLAN,)))

    async def generate(self, messages, params):
        gen = await super().generate(messages, params)
        await asyncio.sleep(0.03)
        return gen


class CountingCache(ResponseCache):
    """Appends one line per generated (uncached) call once its answer is stored.

    Counting at the store, not in the model, keeps the kill window honest: a call whose answer
    was generated but not yet stored when the process died is in-flight work, not finished work.
    Every call of this run is deterministic (greedy or seeded), so every one is stored.
    """

    def __init__(self, path: Path, calls: Path) -> None:
        super().__init__(path)
        self.calls_file = calls

    def put(self, model, messages, params, gen, runs_on=""):
        super().put(model, messages, params, gen, runs_on)
        with self.calls_file.open("a") as fh:
            fh.write(json.dumps(messages[-1]["content"][:80]) + "\n")


async def main(mode: str, run_dir: Path, calls: Path, cache: Path, grain: str) -> None:
    model = ModelClient(SlowLLM(), CountingCache(cache, calls))
    if mode == "new":
        await solve_task(
            code_task(), config(grain), model=model, sandbox=InstantSandbox(), out_dir=run_dir
        )
    else:
        await resume_run(run_dir, model=model, sandbox=InstantSandbox())


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
    )
