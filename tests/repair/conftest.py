"""Shared fixtures of the repair tests: the scenarios folder and a local test runner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ponder.repair.testing import RepoRunner
from ponder.sandbox import open_sandbox
from ponder.sandbox.repo_cache import RepoCache

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "repair"
SCENARIO_NAMES = sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.json"))


@pytest.fixture(scope="session")
def runner(tmp_path_factory) -> Iterator[RepoRunner]:
    """What `--sandbox local` gives: the repository runner over the local sandbox (a temp copy
    run by this interpreter, which has pytest), NOT isolated.

    Session-wide so that its (repository, patch, command) cache spares repeated runs; its
    on-disk cache is this session's own (a run never comes from an earlier session).
    """
    sandbox = open_sandbox("local")
    cache = RepoCache(tmp_path_factory.mktemp("repo-cache") / "results.sqlite")
    yield RepoRunner(sandbox, timeout_s=120, cache=cache)
    asyncio.run(sandbox.close())


@pytest.fixture(scope="session")
def docker_runner(tmp_path_factory) -> Iterator[RepoRunner]:
    """The repository runner over the docker sandbox: a fresh container per run."""
    sandbox = open_sandbox("docker")
    cache = RepoCache(tmp_path_factory.mktemp("repo-cache") / "results.sqlite")
    yield RepoRunner(sandbox, timeout_s=120, cache=cache)
    asyncio.run(sandbox.close())
