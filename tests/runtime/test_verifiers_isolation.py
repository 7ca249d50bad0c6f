"""Hidden-part isolation: no hidden test or reference answer reaches a verifier's prompt or job."""

from __future__ import annotations

import pytest

from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.task import HiddenPart, Repository, Task, VisibleTask
from ponder.verifiers import Candidate, get_verifier, known_verifiers

CANARY_TEST = "assert add(40, 2) == 42  # CANARY-HIDDEN-TEST-7f3a9c"
CANARY_ANSWER = "CANARY-REFERENCE-ANSWER-51d2e8"
CANARY_SOLUTION = "def add(a, b): return a + b  # CANARY-REFERENCE-SOLUTION-0b64"
CANARIES = ("CANARY-HIDDEN-TEST", "CANARY-REFERENCE-ANSWER", "CANARY-REFERENCE-SOLUTION")

BUILTINS = ["tests", "judge", "majority", "chooser", "composite"]


def tasks() -> list[Task]:
    hidden = HiddenPart(
        hidden_tests=[CANARY_TEST],
        reference_answer=CANARY_ANSWER,
        reference_solution=CANARY_SOLUTION,
    )
    code = VisibleTask(
        id="add",
        kind="code",
        prompt="def add(a, b):\n    '''Add.'''\n",
        entry_point="add",
        public_tests=["assert add(1, 2) == 3"],
    )
    math = VisibleTask(id="m", kind="math", prompt="What is 40 + 2?")
    return [Task(visible=code, hidden=hidden), Task(visible=math, hidden=hidden)]


def candidates(task: Task) -> list[Candidate]:
    if task.kind == "code":
        return [
            Candidate(text="def add(a, b):\n    return a + b\n", steps=["use +"]),
            Candidate(text="def add(a, b):\n    return a - b\n", steps=["use -"]),
        ]
    return [
        Candidate(text="40 + 2 = 42", steps=["add"], answer="42"),
        Candidate(text="The answer is 41", steps=["guess"]),
    ]


def kwargs_for(name: str, kind: str) -> dict:
    if name != "composite":
        return {}
    return {
        "weights": {"tests": 1.0, "judge": 1.0}
        if kind == "code"
        else {"majority": 1.0, "judge": 1.0, "chooser": 1.0}
    }


def applies(name: str, kind: str) -> bool:
    return not ((name == "tests" and kind != "code") or (name == "majority" and kind != "math"))


async def test_no_hidden_data_reaches_any_verifier(sandbox) -> None:
    assert set(BUILTINS) <= set(known_verifiers())
    llm = ScriptedLLM(["yes", "1", "no"])
    ran = []
    for task in tasks():
        for name in BUILTINS:
            if not applies(name, task.kind):
                continue
            verifier = get_verifier(
                name, model=ModelClient(llm), sandbox=sandbox, **kwargs_for(name, task.kind)
            )
            verdicts = await verifier.verify(task.view(), candidates(task))
            assert len(verdicts) == 2
            ran.append((task.kind, name))
    assert len(ran) == 8 and llm.calls and sandbox.jobs  # the check below has material
    seen = [m["content"] for messages, _ in llm.calls for m in messages]
    seen += [job.model_dump_json() for job in sandbox.jobs]
    for text in seen:
        for canary in CANARIES:
            assert canary not in text


def test_visible_task_has_no_field_for_hidden_data() -> None:
    fields = VisibleTask.model_fields
    assert not set(fields) & set(HiddenPart.model_fields)
    assert not any(
        "hidden" in n or "answer" in n or "reference" in n or "solution" in n for n in fields
    )
    # metadata is a free dict: the loader fills it only from the file's `metadata` field,
    # and a task whose metadata smuggles a hidden test is the author's doing, not ours.
    # A repository reference shares no field with the hidden part either.
    assert not set(Repository.model_fields) & set(HiddenPart.model_fields)
    assert VisibleTask.model_config["extra"] == "forbid"
    with pytest.raises(ValueError):
        VisibleTask(id="x", kind="math", prompt="p", answer="4")
