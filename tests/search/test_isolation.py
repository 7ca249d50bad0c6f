"""The hidden part never reaches a prompt or a sandbox job during search, for every strategy."""

from __future__ import annotations

import pytest

from ponder.search import known_strategies
from tests.search.conftest import RecordingSandbox, run
from tests.search.scripted import (
    BAD_PLAN,
    CANARY_ANSWER,
    Responder,
    code_task,
    math_task_with_canary_answer,
)

CANARIES = ("CANARY-HIDDEN-TEST-7f3a", "CANARY-REFERENCE-5c1d", CANARY_ANSWER)


def _leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def _job_text(job) -> str:
    # `secret` is what only the judge reads (the tests); it still travels in the job.
    return "\n".join([job.code or "", job.stdin, job.secret, *job.files.values(), *job.command])


@pytest.mark.parametrize("strategy", known_strategies())
async def test_code_search_never_sees_hidden_tests(strategy, local_sandbox, tmp_path):
    sandbox = RecordingSandbox(local_sandbox)
    result, llm = await run(
        code_task(), tmp_path, sandbox, strategy, Responder(all_bad=True, plans=(BAD_PLAN,))
    )
    for messages, _ in llm.calls:
        for message in messages:
            assert not _leaks(message["content"]), strategy
    # Grading runs last, after the search: only that job may hold the hidden test.
    search_jobs, grading_job = sandbox.jobs[:-1], sandbox.jobs[-1]
    assert search_jobs, "the tests verifier ran public tests during search"
    for job in search_jobs:
        assert not _leaks(_job_text(job)), strategy
    assert "CANARY-HIDDEN-TEST-7f3a" in _job_text(grading_job)
    assert result.grade is not None and result.grade["graded"]


@pytest.mark.parametrize("strategy", known_strategies())
async def test_math_search_never_sees_the_reference_answer(strategy, tmp_path):
    result, llm = await run(math_task_with_canary_answer(), tmp_path, None, strategy, Responder())
    for messages, _ in llm.calls:
        for message in messages:
            assert not _leaks(message["content"]), strategy
    assert result.grade is not None and result.grade["correct"] is False
