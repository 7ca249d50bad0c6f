"""Scenario loaders on the real local data: counts, ids, visible/hidden split, grading."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path

import pytest

from ponder.errors import ConfigError
from ponder.scenarios import get_scenario, known_scenarios, resolve_task
from ponder.scenarios.doctests import docstring_asserts
from ponder.scenarios.paths import DATA_ENV, data_dir
from ponder.testrun import run_tests

pytestmark = pytest.mark.skipif(
    not (data_dir() / "gsm8k" / "test.jsonl").is_file(), reason=f"no benchmark data ({DATA_ENV})"
)


@pytest.mark.parametrize(
    ("name", "count", "first", "last"),
    [("humaneval", 164, "HumanEval/0", "HumanEval/163"), ("mbpp", 500, "mbpp/11", "mbpp/510"),
     ("mbpp+", 378, "Mbpp/2", "Mbpp/809"), ("gsm8k", 1319, "gsm8k/0", "gsm8k/1318"),
     ("math500", 500, "math500/0", "math500/499")],
)  # fmt: skip
def test_counts_and_stable_ids(name: str, count: int, first: str, last: str) -> None:
    tasks = get_scenario(name).load()
    assert len(tasks) == count
    assert (tasks[0].id, tasks[-1].id) == (first, last)
    assert len({t.id for t in tasks}) == count
    assert [t.id for t in get_scenario(name).load()] == [t.id for t in tasks]


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "mbpp+", "gsm8k", "math500"])
def test_hidden_part_is_not_in_the_visible_view(name: str) -> None:
    for task in get_scenario(name).load():
        visible = task.view().model_dump_json()
        hidden = task.hidden
        assert "hidden_tests" not in visible and "reference" not in visible
        for test in hidden.hidden_tests:
            if test not in task.visible.public_tests:  # MBPP's first test is public by design
                assert test.strip() not in visible
        if hidden.reference_solution and task.kind == "math":
            assert hidden.reference_solution not in visible


def test_humaneval_public_tests_come_from_the_docstring() -> None:
    task = resolve_task("humaneval/HumanEval/0")
    assert task.visible.entry_point == "has_close_elements"
    assert task.visible.public_tests == [
        "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False\n",
        "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True\n",
    ]
    assert "def check(candidate)" in task.hidden.hidden_tests[0]
    assert task.hidden.hidden_tests[0].rstrip().endswith("check(has_close_elements)")


def test_a_task_is_named_by_the_last_part_of_its_id() -> None:
    assert resolve_task("humaneval/0").id == "HumanEval/0"
    assert resolve_task("mbpp+/460").id == "Mbpp/460"
    with pytest.raises(ConfigError, match="has no task 'HumanEval/999'"):
        resolve_task("humaneval/HumanEval/999")


def test_docstring_parser_handles_arrows_and_skips_non_literals() -> None:
    prompt = textwrap.dedent('''
        def f(x):
            """
            f(2) ==> 4
            f("a") ➞ 'aa'
            f(y) => 3
            """
    ''')
    assert docstring_asserts(prompt, "f") == ["assert f(2) == 4\n", "assert f(\"a\") == 'aa'\n"]
    assert docstring_asserts("def g():\n    pass\n", "g") == []


async def _check_all(sandbox, tasks, tests_of, solution_of) -> list[str]:
    gate = asyncio.Semaphore(4)

    async def one(task) -> str | None:
        tests = tests_of(task)
        if not tests:
            return None
        async with gate:
            run = await run_tests(sandbox, solution_of(task), tests)
        return None if run.all_passed else f"{task.id}: {run.feedback()[:300]}"

    return [r for r in await asyncio.gather(*(one(t) for t in tasks)) if r]


async def test_humaneval_public_and_hidden_tests_pass_the_canonical_solution(sandbox) -> None:
    tasks = get_scenario("humaneval").load()
    with_public = [t for t in tasks if t.visible.public_tests]
    assert len(with_public) >= 120  # docstring examples parse for most tasks
    async with sandbox:

        def solution(t):
            return t.hidden.reference_solution

        public = await _check_all(sandbox, tasks, lambda t: t.visible.public_tests, solution)
        hidden = await _check_all(sandbox, tasks, lambda t: t.hidden.hidden_tests, solution)
        broken = await _check_all(
            sandbox,
            tasks[:5],
            lambda t: t.hidden.hidden_tests,
            lambda t: t.visible.prompt + "    return None\n",
        )
    assert public == [] and hidden == []
    assert len(broken) == 5  # the hidden tests can fail


async def test_mbpp_hidden_tests_pass_the_reference_code(sandbox) -> None:
    tasks = get_scenario("mbpp").load()[:40]
    for task in tasks:
        assert task.visible.public_tests[0] == task.hidden.hidden_tests[0]
        assert task.visible.entry_point in task.visible.public_tests[0]
    async with sandbox:
        failures = await _check_all(
            sandbox, tasks, lambda t: t.hidden.hidden_tests, lambda t: t.hidden.reference_solution
        )
    assert failures == []


async def test_humaneval_plus_is_stricter_than_base(sandbox) -> None:
    plus = get_scenario("humaneval+")
    task = resolve_task("humaneval/HumanEval/97")  # multiply(): the original solution is wrong
    fixed = plus._plus_records[task.id]
    async with sandbox:
        original = await plus.grade(task, task.hidden.reference_solution, sandbox)
        corrected = await plus.grade(task, fixed["prompt"] + fixed["canonical_solution"], sandbox)
        lenient = await get_scenario("humaneval").grade(
            task, task.hidden.reference_solution, sandbox
        )
    assert original.details["base"] is True and original.details["plus"] is False
    assert original.correct is False and lenient.correct is True
    assert corrected.correct is True and corrected.details["plus_inputs"] > 100


async def test_mbpp_plus_grades_with_tuple_arguments(sandbox) -> None:
    scenario = get_scenario("mbpp+")
    task = resolve_task("mbpp+/Mbpp/2")  # similar_elements takes tuples
    record = scenario._plus_records["Mbpp/2"]
    async with sandbox:
        good = await scenario.grade(task, record["canonical_solution"], sandbox)
        edge = "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b))) if a else None\n"
        bad = await scenario.grade(task, edge, sandbox)  # wrong on an empty input
    assert good.correct is True and good.details["plus"] is True
    assert bad.details["base"] is True and bad.details["plus"] is False and bad.correct is False


@pytest.mark.parametrize(
    ("ref", "right", "wrong"),
    [("gsm8k/0", "She makes $18 a day. The answer is 18", "The answer is 17"),
     ("math500/0", r"So the point is \boxed{\left( 3, \frac{\pi}{2} \right)}",
      r"\boxed{(3, \pi)}")],
)  # fmt: skip
async def test_math_scenarios_grade_with_math_verify(ref: str, right: str, wrong: str) -> None:
    task = resolve_task(ref)
    scenario = get_scenario(ref.split("/")[0])
    assert (await scenario.grade(task, right, None)).correct is True
    assert (await scenario.grade(task, wrong, None)).correct is False


def test_subsets_by_limit_ids_and_seed() -> None:
    scenario = get_scenario("gsm8k")
    assert [t.id for t in scenario.tasks(limit=3)] == ["gsm8k/0", "gsm8k/1", "gsm8k/2"]
    assert [t.id for t in scenario.tasks(ids=["gsm8k/5", "gsm8k/2"])] == ["gsm8k/5", "gsm8k/2"]
    a, b = scenario.tasks(limit=5, seed=7), scenario.tasks(limit=5, seed=7)
    assert [t.id for t in a] == [t.id for t in b] != [t.id for t in scenario.tasks(limit=5)]
    with pytest.raises(ConfigError, match="no task 'gsm8k/99999'"):
        scenario.tasks(ids=["gsm8k/99999"])


def test_resolve_task_forms_and_errors() -> None:
    assert resolve_task("humaneval/HumanEval/3").id == "HumanEval/3"
    assert resolve_task("HumanEval/3").id == "HumanEval/3"
    assert resolve_task("mbpp/11").id == "mbpp/11"
    assert resolve_task("gsm8k/gsm8k/4").id == "gsm8k/4"
    with pytest.raises(ConfigError, match="unknown scenario 'nosuch'") as err:
        resolve_task("nosuch/1")
    assert "humaneval" in err.value.fix
    with pytest.raises(ConfigError, match="has no task"):
        resolve_task("humaneval/HumanEval/999")


def test_missing_data_names_the_path_and_the_fix(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(ConfigError) as err:
        get_scenario("gsm8k").load()
    assert str(tmp_path / "gsm8k" / "test.jsonl") in err.value.message
    assert DATA_ENV in err.value.fix and "openai/gsm8k" in err.value.fix


def test_a_scenario_plug_in_is_found_through_its_entry_point(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "tinybench.py").write_text(
        textwrap.dedent("""
        from ponder.scenarios import Scenario
        from ponder.task import HiddenPart, Task, VisibleTask

        class Tiny(Scenario):
            name = "tiny"

            def load(self):
                visible = VisibleTask(id="tiny/0", kind="math", prompt="1+1?")
                return [Task(visible=visible, hidden=HiddenPart(reference_answer="2"))]
    """)
    )
    dist = tmp_path / "tinybench-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tinybench\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ponder.scenarios]\ntiny = tinybench:Tiny\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tinybench", raising=False)
    assert "tiny" in known_scenarios()
    assert resolve_task("tiny/tiny/0").hidden.reference_answer == "2"
    assert json.loads(resolve_task("tiny/0").view().model_dump_json())["prompt"] == "1+1?"
