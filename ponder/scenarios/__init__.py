"""Benchmark scenarios: the registry (built-ins plus `ponder.scenarios` plug-ins) and task lookup.

A plug-in package declares, in its pyproject.toml,

    [project.entry-points."ponder.scenarios"]
    mybench = "mypkg.bench:MyScenario"

where `MyScenario(source: str | None = None)` subclasses `ponder.scenarios.Scenario`; in code,
`register_scenario("mybench", MyScenario)` (or `@register_scenario("mybench")`) does the same.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from ponder.errors import ConfigError
from ponder.plugins import Registry
from ponder.scenarios.base import Scenario, select_tasks
from ponder.scenarios.gsm8k import Gsm8kScenario
from ponder.scenarios.humaneval import HumanEvalScenario
from ponder.scenarios.math500 import Math500Scenario
from ponder.scenarios.mbpp import MbppPlusScenario, MbppScenario
from ponder.scenarios.repair import RepairScenario
from ponder.task import Task

ENTRY_POINT_GROUP = "ponder.scenarios"

ScenarioFactory = Callable[..., Scenario]
F = TypeVar("F", bound=ScenarioFactory)

SCENARIOS: Registry[ScenarioFactory] = Registry("scenario", ENTRY_POINT_GROUP, ignore_case=True)
"""Scenario factories by name (case-insensitive): built-ins, `register_scenario`, plug-ins."""

for _name, _factory in {
    "humaneval": HumanEvalScenario,
    "humaneval+": partial(HumanEvalScenario, strict=True),
    "mbpp": MbppScenario,
    "mbpp+": MbppPlusScenario,
    "gsm8k": Gsm8kScenario,
    "math500": Math500Scenario,
    "repair": RepairScenario,
}.items():
    SCENARIOS.register(_name, _factory)
del _name, _factory


def register_scenario(name: str, factory: F | None = None) -> F | Callable[[F], F]:
    """Make `factory(source: str | None)` (e.g. a Scenario subclass) the scenario `name`;
    without `factory`, a class decorator that does so."""
    return SCENARIOS.register(name, factory)


def known_scenarios() -> list[str]:
    """Names of every scenario: built-ins, then installed plug-ins."""
    return SCENARIOS.names()


def get_scenario(name: str, source: str | None = None) -> Scenario:
    """The scenario called `name` (case-insensitive); `source` = an HF dataset name or None."""
    scenario = SCENARIOS.get(name)(source)
    if not isinstance(scenario, Scenario):
        raise ConfigError(
            f"scenario {name!r} built a {type(scenario).__name__}, not a Scenario",
            fix="register (or name in the entry point) a subclass of ponder.scenarios.Scenario",
        )
    return scenario


def is_scenario_ref(ref: str) -> bool:
    """True when `ref` starts with a scenario name and a slash (`humaneval/HumanEval/0`)."""
    return "/" in ref and ref.split("/", 1)[0] in SCENARIOS


def resolve_task(ref: str, source: str | None = None) -> Task:
    """One task from a reference `SCENARIO/TASK_ID`, e.g. `humaneval/HumanEval/0`, `gsm8k/gsm8k/3`.

    The scenario prefix may be followed by the full task id, by the id alone when it begins
    with the scenario's name (`gsm8k/3`, `mbpp/11`), or by the id's last part when one task
    alone ends in it (`humaneval/0` for HumanEval/0, `mbpp+/460` for Mbpp/460).
    """
    if "/" not in ref:
        raise ConfigError(
            f"{ref!r} is not a scenario task reference",
            fix="write SCENARIO/TASK_ID, e.g. humaneval/HumanEval/0 or gsm8k/0",
        )
    head, rest = ref.split("/", 1)
    scenario = get_scenario(head, source)
    tasks = {t.id: t for t in scenario.load()}
    for candidate in (rest, ref):
        if candidate in tasks:
            return tasks[candidate]
    by_last_part = [t for task_id, t in tasks.items() if task_id.rsplit("/", 1)[-1] == rest]
    if len(by_last_part) == 1:
        return by_last_part[0]
    example = next(iter(tasks), "")
    raise ConfigError(
        f"scenario {scenario.name!r} has no task {rest!r}",
        fix=f"task ids look like {example!r}; reference one as {head}/{example}",
    )


__all__ = [
    "ENTRY_POINT_GROUP",
    "SCENARIOS",
    "Scenario",
    "get_scenario",
    "is_scenario_ref",
    "known_scenarios",
    "register_scenario",
    "resolve_task",
    "select_tasks",
]
