"""A scripted model for search tests: replies chosen by what the prompt asks for (deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

from ponder.llm.base import Message, SamplingParams
from ponder.task import Task, TaskRecord

GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
GOOD_PLAN = "Return the sum of a and b."
BAD_PLAN = "Subtract b from a."
CANARY_TEST = "assert add(20, 22) == 42  # CANARY-HIDDEN-TEST-7f3a"
CANARY_ANSWER = "CANARY-ANSWER-91b2"


def code_task() -> Task:
    return TaskRecord(
        kind="code",
        id="add",
        entry_point="add",
        prompt='def add(a, b):\n    """Return the sum of a and b."""\n',
        public_tests=["assert add(1, 2) == 3", "assert add(-1, 1) == 0"],
        hidden_tests=[CANARY_TEST],
        reference_solution="def add(a, b):\n    return a + b  # CANARY-REFERENCE-5c1d\n",
    ).to_task()


def math_task() -> Task:
    return TaskRecord(
        kind="math",
        id="sum",
        prompt="What is 20 + 22?",
        answer="42",
        metadata={"note": "visible"},
    ).to_task()


def math_task_with_canary_answer() -> Task:
    return TaskRecord(
        kind="math", id="canary", prompt="What is 20 + 22?", answer=CANARY_ANSWER
    ).to_task()


class Responder:
    """Decides each reply from the prompt. `first_bad`: the plain (plan-less) code prompt
    answers with the wrong program first, so refinement paths are exercised."""

    def __init__(
        self,
        first_bad: bool = True,
        plans: tuple[str, ...] = (BAD_PLAN, GOOD_PLAN),
        garbage: bool = False,
        all_bad: bool = False,
    ) -> None:
        self.first_bad = first_bad
        self.plans = plans
        self.all_bad = all_bad
        self.garbage = garbage
        self.seen_plain = 0

    def __call__(self, messages: list[Message], params: SamplingParams) -> list[str]:
        text = "\n".join(m["content"] for m in messages)
        last = messages[-1]["content"]
        if self.garbage:  # blank plan steps, prose instead of code or answers
            blank = "Write the first step" in last or "Write step" in last
            return ["  \n" if blank else "I cannot help with that."] * params.n
        if "Answer yes or no" in text or "yes or no" in text.lower():
            return ["no" if BAD_PLAN in text else "yes"] * params.n
        if "Rewrite step" in last:
            return [GOOD_PLAN]
        if "Write the first step" in last or "Write step" in last:
            return [self.plans[i % len(self.plans)] for i in range(params.n)]
        if last.startswith("Fix the following") or "Write a corrected solution" in last:
            return [GOOD if "python" in last else "20 + 22 = 42\nThe answer is \\boxed{42}"]
        if "Wrong step" in last:
            return ["Wrong step: 1\nThe plan subtracts instead of adding."]
        if "Solve the following problem" in last:
            wrong = "20 + 22 = 43\nThe answer is \\boxed{43}"
            right = "20 + 22 = 42\nThe answer is \\boxed{42}"
            return [wrong if i == 0 and self.first_bad else right for i in range(params.n)]
        if last.startswith("Complete the following Python function"):
            if "Follow this plan" in last:
                return [BAD if BAD_PLAN in last.split("```")[0] else GOOD] * params.n
            self.seen_plain += 1
            if self.all_bad:
                return [BAD] * params.n
            if self.first_bad and self.seen_plain == 1:
                return [BAD] + [GOOD] * (params.n - 1)
            return [GOOD] * params.n
        return ["(unscripted prompt)"]


def write_replies(path: Path, replies: list[str]) -> Path:
    path.write_text(json.dumps(replies))
    return path
