"""Benchmark scenarios: the registry (built-ins plus `ponder.scenarios` plug-ins) and task lookup.

A plug-in package declares, in its pyproject.toml,

    [project.entry-points."ponder.scenarios"]
    mybench = "mypkg.bench:MyScenario"

where `MyScenario(source: str | None = None)` subclasses `ponder.scenarios.Scenario`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib.metadata import entry_points

from ponder.errors import ConfigError
from ponder.scenarios.base import Scenario, select_tasks
from ponder.scenarios.gsm8k import Gsm8kScenario
from ponder.scenarios.humaneval import HumanEvalScenario
from ponder.scenarios.math500 import Math500Scenario
from ponder.scenarios.mbpp import MbppPlusScenario, MbppScenario
from ponder.task import Task

ENTRY_POINT_GROUP = "ponder.scenarios"

ScenarioFactory = Callable[..., Scenario]

BUILTIN: dict[str, ScenarioFactory] = {
    "humaneval": HumanEvalScenario,
    "humaneval+": partial(HumanEvalScenario, strict=True),
    "mbpp": MbppScenario,
    "mbpp+": MbppPlusScenario,
    "gsm8k": Gsm8kScenario,
    "math500": Math500Scenario,
}
"""Built-in scenarios by name (read-only; plug-ins come from entry points)."""


def _plugins() -> dict[str, ScenarioFactory]:
    return {ep.name.lower(): ep.load for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_scenarios() -> list[str]:
    """Names of every scenario: built-ins, then installed plug-ins."""
    return list(BUILTIN) + sorted(set(_plugins()) - set(BUILTIN))


def get_scenario(name: str, source: str | None = None) -> Scenario:
    """The scenario called `name` (case-insensitive); `source` = an HF dataset name or None."""
    key = name.lower()
    if key in BUILTIN:
        return BUILTIN[key](source)
    plugin = _plugins().get(key)
    if plugin is None:
        raise ConfigError(
            f"unknown scenario {name!r}",
            fix=f"use one of: {', '.join(known_scenarios())} (or install a plug-in that "
            f"declares the entry point group {ENTRY_POINT_GROUP!r})",
        )
    scenario = plugin()(source)
    if not isinstance(scenario, Scenario):
        raise ConfigError(
            f"scenario plug-in {name!r} built a {type(scenario).__name__}, not a Scenario",
            fix="make the entry point name a subclass of ponder.scenarios.Scenario",
        )
    return scenario


def is_scenario_ref(ref: str) -> bool:
    """True when `ref` starts with a scenario name and a slash (`humaneval/HumanEval/0`)."""
    head = ref.split("/", 1)[0].lower()
    return "/" in ref and (head in BUILTIN or head in _plugins())


def resolve_task(ref: str, source: str | None = None) -> Task:
    """One task from a reference `SCENARIO/TASK_ID`, e.g. `humaneval/HumanEval/0`, `gsm8k/gsm8k/3`.

    The scenario prefix may be followed by the full task id or, when the id itself begins
    with the scenario's name, by the id alone (`gsm8k/3`, `mbpp/11`, `HumanEval/0`).
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
    example = next(iter(tasks), "")
    raise ConfigError(
        f"scenario {scenario.name!r} has no task {rest!r}",
        fix=f"task ids look like {example!r}; reference one as {head}/{example}",
    )


__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "Scenario",
    "get_scenario",
    "is_scenario_ref",
    "known_scenarios",
    "resolve_task",
    "select_tasks",
]
