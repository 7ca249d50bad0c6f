"""Fixtures for search tests: one Docker sandbox per session, recording wrappers, run helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from ponder.agents import Refiner, Reviewer, Solver
from ponder.budget import Budget
from ponder.config import RunConfig
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.runner import RunResult, solve_task
from ponder.sandbox import open_sandbox
from ponder.sandbox.base import ExecResult, Job, Sandbox
from ponder.search.base import SearchContext
from ponder.task import Task
from ponder.tree import ThoughtTree
from ponder.verifiers.base import Candidate, Verdict, Verifier
from tests.search.scripted import BAD_PLAN, Responder, code_task


class RecordingSandbox(Sandbox):
    """Delegates to a real sandbox and keeps every job, so tests can inspect what ran."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.jobs: list[Job] = []
        self.isolated = inner.isolated

    async def run(self, job: Job) -> ExecResult:
        self.jobs.append(job)
        return await self.inner.run(job)


class InstantSandbox(Sandbox):
    """Answers every job at once with an empty success (for orchestration-only tests)."""

    isolated = False

    async def run(self, job: Job) -> ExecResult:
        return ExecResult(status="ok", exit_code=0)


class FakeVerifier:
    """Scores candidates by a rule on their text; records the batches it saw."""

    name = "fake"

    def __init__(self, rule=lambda c: 1.0 if "a + b" in c.text else 0.0) -> None:
        self.rule = rule
        self.batches: list[list[Candidate]] = []

    async def verify(self, task, candidates: list[Candidate]) -> list[Verdict]:
        self.batches.append(list(candidates))
        out = []
        for c in candidates:
            score = float(self.rule(c))
            out.append(
                Verdict(
                    score=score,
                    passed=score == 1.0,
                    feedback="" if score == 1.0 else "AssertionError: add(1, 2) == 3",
                )
            )
        return out


@pytest.fixture
def register_verifier(monkeypatch) -> Callable[[str, Callable[[], Verifier]], None]:
    """Make a test verifier available by name to runs (`verifiers=[name]`, `scorer=name`)."""
    from ponder.verifiers import registry

    registry._load_builtins()

    def register(name: str, factory: Callable[[], Verifier]) -> None:
        monkeypatch.setitem(registry._BUILTIN, name, factory)

    return register


def search_context(responder=None, verifier=None) -> tuple[SearchContext, ScriptedLLM]:
    """A SearchContext on the code task, for tests of its own methods (not of strategies:
    those run through the graph)."""
    llm = ScriptedLLM(responder or Responder(plans=(BAD_PLAN,)))
    model = ModelClient(llm)
    tree = ThoughtTree()
    tree.add_root("root")
    ctx = SearchContext(
        task=code_task().view(),
        tree=tree,
        solver=Solver(model),
        reviewer=Reviewer(model),
        refiner=Refiner(model),
        verifier=verifier or FakeVerifier(),
        budget=Budget(),
    )
    return ctx, llm


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def docker_sandbox() -> AsyncIterator[Sandbox]:
    sandbox = open_sandbox("docker")
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest_asyncio.fixture
async def local_sandbox() -> AsyncIterator[Sandbox]:
    sandbox = open_sandbox("local")
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()


def scripted(responder: Responder | None = None) -> tuple[ModelClient, ScriptedLLM]:
    llm = ScriptedLLM(responder or Responder())
    return ModelClient(llm), llm


async def run(
    task: Task,
    tmp_path: Path,
    sandbox: Sandbox | None,
    strategy: str,
    responder: Responder | None = None,
    **config,
) -> tuple[RunResult, ScriptedLLM]:
    model, llm = scripted(responder)
    cfg = RunConfig(strategy=strategy, model="scripted", sandbox="local", **config)
    result = await solve_task(task, cfg, model=model, sandbox=sandbox, out_dir=tmp_path / strategy)
    return result, llm
