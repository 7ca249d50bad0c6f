"""The Scenario interface: a named benchmark that loads Tasks and grades solutions."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Sequence

from ponder.errors import ConfigError
from ponder.sandbox.base import Sandbox
from ponder.task import Grade, Task, grade


class Scenario(ABC):
    """A benchmark. Subclasses load their tasks in a stable order with stable ids.

    `source` is None for the local copy under the data directory, or a Hugging Face dataset
    name for online users (loaded with `datasets` when installed).
    """

    name: str = ""
    description: str = ""

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self._memo: dict[tuple[str, str], dict] = {}  # extra-test outcomes by (task, program)

    @abstractmethod
    def load(self) -> list[Task]:
        """Every task of the scenario, in the dataset's order."""

    async def grade(
        self, task: Task, solution: str, sandbox: Sandbox | None, base: Grade | None = None
    ) -> Grade:
        """The hidden-test grade of a final solution (after the search ended).

        `base` is the plain `ponder.task.grade` result when the caller already has it
        (`ponder solve` grades every run); scenarios with extra tests add theirs to it.
        """
        return base if base is not None else await grade(task, solution, sandbox)

    def tasks(
        self, limit: int | None = None, ids: Sequence[str] | None = None, seed: int | None = None
    ) -> list[Task]:
        """A subset: the named ids (in the order given), else all; shuffled by `seed`; first `limit`."""
        return select_tasks(self.load(), limit=limit, ids=ids, seed=seed, scenario=self.name)


def select_tasks(
    tasks: list[Task],
    *,
    limit: int | None = None,
    ids: Sequence[str] | None = None,
    seed: int | None = None,
    scenario: str = "",
) -> list[Task]:
    """Pick tasks by id, shuffle with a seeded generator, then cut to `limit`."""
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}", fix="pass --limit 1 or more")
    chosen = tasks
    if ids:
        by_id = {t.id: t for t in tasks}
        missing = [i for i in ids if i not in by_id]
        if missing:
            sample = ", ".join(t.id for t in tasks[:3])
            raise ConfigError(
                f"scenario {scenario!r} has no task {missing[0]!r}"
                + (f" (and {len(missing) - 1} more unknown ids)" if len(missing) > 1 else ""),
                fix=f"use ids such as {sample}",
            )
        chosen = [by_id[i] for i in ids]
    if seed is not None:
        chosen = list(chosen)
        random.Random(seed).shuffle(chosen)
    return chosen[:limit] if limit is not None else list(chosen)
