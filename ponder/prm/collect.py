"""`ponder prm collect`: sample solutions, label each step by Monte-Carlo rollouts (Math-Shepherd)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.kinds.answers import extract_answer
from ponder.llm.base import Message, SamplingParams
from ponder.llm.client import ModelClient
from ponder.prm.dataset import StepRecord, append_records, read_records
from ponder.prm.steps import split_steps
from ponder.task import Task, grade

SYSTEM = (
    "You solve grade-school math problems. Write short numbered steps, one per line: "
    "'Step 1: ...', 'Step 2: ...'. Compute every number. Finish with one line "
    "'The answer is <the final number>.', e.g. 'The answer is 42.'"
)
CONTINUE = (
    "{prompt}\n\nHere is the beginning of a solution:\n{steps}\n\n"
    "Continue it from the next step, in the same format, and finish with one line "
    "'The answer is <the final number>.'"
)


@dataclass(frozen=True)
class CollectConfig:
    """How much to sample: `samples` solutions per task, `rollouts` completions per step prefix
    (0: outcome labels only, e.g. for best-of-N evaluation sets), the first `max_steps` steps."""

    samples: int = 4
    rollouts: int = 4
    max_steps: int = 6
    temperature: float = 0.8
    max_tokens: int = 320
    split: str = "step_k"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples < 1 or self.rollouts < 0 or self.max_steps < 1:
            raise ConfigError(
                f"bad collect settings samples={self.samples} rollouts={self.rollouts} "
                f"max_steps={self.max_steps}",
                fix="use samples >= 1, rollouts >= 0, max_steps >= 1",
            )


def solve_messages(prompt: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]


def continue_messages(prompt: str, steps: Sequence[str]) -> list[Message]:
    """The prover's view: the problem and a partial solution to finish (a distinct prover
    policy, as "Rewarding Progress" recommends, built from the same model)."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": CONTINUE.format(prompt=prompt, steps="\n".join(steps))},
    ]


def _seed(*parts: object) -> int:
    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


class Collector:
    """Runs the policy on gradeable tasks and writes labelled solutions."""

    def __init__(
        self, model: ModelClient, config: CollectConfig, budget: Budget | None = None
    ) -> None:
        self.model, self.config, self.budget = model, config, budget

    def _params(self, n: int, *seed: object) -> SamplingParams:
        c = self.config
        return SamplingParams(
            n=n, max_tokens=c.max_tokens, temperature=c.temperature, seed=_seed(c.seed, *seed)
        )

    async def _correct(self, task: Task, text: str) -> bool:
        return (await grade(task, text)).correct

    async def _value(self, task: Task, steps: list[str], sample: int, k: int) -> float:
        gen = await self.model.generate(
            continue_messages(task.visible.prompt, steps[:k]),
            self._params(self.config.rollouts, task.id, sample, k),
            budget=self.budget,
        )
        hits = [await self._correct(task, c.text) for c in gen.completions]
        return sum(hits) / len(hits)

    async def label_task(self, task: Task) -> list[StepRecord]:
        """Sample, grade and (with rollouts) label every step of every sample of one task."""
        c = self.config
        gen = await self.model.generate(
            solve_messages(task.visible.prompt),
            self._params(c.samples, task.id, "solve"),
            budget=self.budget,
        )
        texts = [comp.text for comp in gen.completions]
        outcomes = [await self._correct(task, t) for t in texts]
        prior = sum(outcomes) / len(outcomes)
        records = []
        for i, (text, ok) in enumerate(zip(texts, outcomes, strict=True)):
            steps = split_steps(text, c.split)
            if len(steps) > c.max_steps:  # keep the first steps; the rest is the last step
                steps = steps[: c.max_steps - 1] + ["\n".join(steps[c.max_steps - 1 :])]
            values = []
            if c.rollouts:
                values = [await self._value(task, steps, i, k) for k in range(1, len(steps))]
            else:
                values = [float(ok)] * (len(steps) - 1)  # outcome label only
            records.append(
                StepRecord(
                    task_id=task.id,
                    prompt=task.visible.prompt,
                    sample=i,
                    steps=steps,
                    values=[*values, float(ok)],
                    correct=ok,
                    answer=extract_answer(text),
                    prior=prior,
                    rollouts=c.rollouts,
                    text=text,
                )
            )
        return records

    async def run(
        self,
        tasks: Sequence[Task],
        out: str | Path,
        on_task: Callable[[Task, list[StepRecord]], None] | None = None,
    ) -> list[StepRecord]:
        """Label `tasks`, appending to `out` task by task; tasks already in `out` are skipped
        (so an interrupted collect resumes without losing work)."""
        out = Path(out)
        done = (
            {r.task_id for r in read_records(out)}
            if out.is_file() and out.stat().st_size
            else set()
        )
        records = []
        for task in tasks:
            if task.kind != "math" or task.hidden.reference_answer is None:
                raise ConfigError(
                    f"task {task.id} has no gradeable final answer",
                    fix="collect on math tasks with answers",
                )
            if task.id in done:
                continue
            recs = await self.label_task(task)
            append_records(out, recs)
            records += recs
            if on_task:
                on_task(task, recs)
        return records
