"""Tasks: the file format, its error messages, prompt tasks, and hidden-part grading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ponder.errors import ConfigError, TaskFormatError
from ponder.task import (
    HiddenPart,
    Repository,
    Task,
    VisibleTask,
    grade,
    load_task,
    load_tasks,
    save_tasks,
    task_from_prompt,
    task_to_record,
)

CODE = {
    "kind": "code",
    "id": "add",
    "prompt": "def add(a, b):\n    '''Return a + b.'''\n",
    "entry_point": "add",
    "public_tests": ["assert add(1, 2) == 3"],
    "hidden_tests": ["assert add(2, 2) == 4", "assert add(-1, 1) == 0"],
}
MATH = {"kind": "math", "id": "half", "prompt": "What is 1/2 as a decimal?", "answer": "0.5"}


def write_lines(path: Path, *objs: object) -> Path:
    path.write_text("\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n")
    return path


def test_load_jsonl_splits_visible_and_hidden(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", CODE, "", "# comment", MATH)
    code, math = load_tasks(path)
    assert code.view() == VisibleTask(
        id="add",
        kind="code",
        prompt=CODE["prompt"],
        entry_point="add",
        public_tests=["assert add(1, 2) == 3"],
    )
    assert code.hidden.hidden_tests == CODE["hidden_tests"]
    assert (math.kind, math.id, math.hidden.reference_answer) == ("math", "half", "0.5")


def test_json_file_with_list_and_numeric_answer(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([CODE, MATH | {"answer": 42}]))
    assert [t.id for t in load_tasks(path)] == ["add", "half"]
    assert load_tasks(path)[1].hidden.reference_answer == "42"


def test_tests_given_as_source_are_split_per_assert(tmp_path: Path) -> None:
    source = "import math\n\nassert add(1, 2) == 3\nassert add(0, 0) == 0\n"
    path = write_lines(tmp_path / "t.jsonl", CODE | {"public_tests": source})
    (task,) = load_tasks(path)
    assert task.view().public_tests == [
        "import math\nassert add(1, 2) == 3\n",
        "assert add(0, 0) == 0\n",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"kind": "code", "prompt": "p"}, "line 2: field 'id': required field is missing"),
        (CODE | {"kind": "poem"}, "line 2: field 'kind'"),
        (CODE | {"hiden_tests": []}, "line 2: field 'hiden_tests': unknown field"),
        (CODE | {"public_tests": [1, 2]}, "line 2: field 'public_tests.0'"),
        (CODE | {"public_tests": "assert (("}, "line 2: a tests field is not valid Python"),
        ('{"kind": "code",', "line 2: invalid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        (CODE | {"id": "half"}, "line 2: field 'id': duplicate id 'half' (first at line 1)"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, line: object, expected: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", MATH, line)
    with pytest.raises(TaskFormatError) as info:
        load_tasks(path)
    assert str(path) in info.value.message
    assert expected in info.value.message
    assert info.value.fix


def test_json_file_errors_name_the_item(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([MATH, {"kind": "math", "id": "x"}]))
    with pytest.raises(TaskFormatError, match=r"item 2: field 'prompt'"):
        load_tasks(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TaskFormatError, match="does not exist"):
        load_tasks(tmp_path / "nope.jsonl")
    with pytest.raises(TaskFormatError, match="holds no tasks"):
        load_tasks(write_lines(tmp_path / "empty.jsonl", "# nothing"))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    tasks = load_tasks(write_lines(tmp_path / "t.jsonl", CODE, MATH | {"metadata": {"level": 3}}))
    again = load_tasks(save_tasks(tasks, tmp_path / "copy.jsonl"))
    assert again == tasks
    assert task_to_record(tasks[1])["metadata"] == {"level": 3}


def test_load_task_picks_by_id(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", CODE, MATH)
    assert load_task(path, "half").id == "half"
    with pytest.raises(ConfigError, match="holds 2 tasks"):
        load_task(path)
    with pytest.raises(ConfigError, match="no task 'zzz'"):
        load_task(path, "zzz")


def test_task_from_prompt_reads_public_tests(tmp_path: Path) -> None:
    tests = tmp_path / "tests.py"
    tests.write_text("def check(f):\n    assert f(1) == 2\n\ncheck(inc)\nassert inc(0) == 1\n")
    task = task_from_prompt("def inc(x):\n    '''Add one.'''\n", tests)
    assert task.view().entry_point == "inc"
    assert task.view().public_tests == [
        "def check(f):\n    assert f(1) == 2\ncheck(inc)\nassert inc(0) == 1\n"
    ]
    assert task.hidden.empty
    assert task.id.startswith("prompt-")
    with pytest.raises(ConfigError, match="does not exist"):
        task_from_prompt("x", tmp_path / "missing.py")
    (tmp_path / "bad.py").write_text("assert (\n")
    with pytest.raises(TaskFormatError, match=r"bad.py: line \d+: not valid Python"):
        task_from_prompt("x", tmp_path / "bad.py")


def test_visible_task_cannot_carry_hidden_data() -> None:
    assert set(VisibleTask.model_fields) == {
        "id",
        "kind",
        "prompt",
        "entry_point",
        "public_tests",
        "repository",
        "metadata",
    }
    # A repository reference carries only what agents may see (no test patch, no hidden ids).
    assert set(Repository.model_fields) == {
        "dir",
        "url",
        "base_commit",
        "test_cmd",
        "fail_to_pass",
        "pass_to_pass",
        "setup_patch",
    }
    with pytest.raises(ValueError, match="hidden_tests"):
        VisibleTask(id="x", kind="code", prompt="p", hidden_tests=["assert 0"])


async def test_grade_code_runs_hidden_tests(sandbox) -> None:
    (task,) = [
        Task(
            visible=VisibleTask(**{k: CODE[k] for k in ("id", "kind", "prompt", "entry_point")}),
            hidden=HiddenPart(hidden_tests=CODE["hidden_tests"]),
        )
    ]
    good = await grade(task, "def add(a, b):\n    return a + b\n", sandbox)
    assert (good.correct, good.graded, good.details["passed"]) == (True, True, 2)
    bad = await grade(task, "def add(a, b):\n    return a * b\n", sandbox)
    assert (bad.correct, bad.details["passed"], bad.details["failed"]) == (False, 1, [1])
    assert "assert add(-1, 1) == 0" in bad.details["feedback"]


async def test_grade_without_hidden_part_is_ungraded(sandbox) -> None:
    task = task_from_prompt("def f():\n    pass\n")
    result = await grade(task, "def f(): pass", sandbox)
    assert (result.correct, result.graded) == (False, False)
    assert sandbox.jobs == []


@pytest.mark.parametrize(
    ("gold", "solution", "correct"),
    [
        ("0.5", "So the result is \\boxed{\\frac{1}{2}}.", True),
        ("\\frac{1}{2}", "The answer is 0.5", True),
        ("18", "She makes 9 * 2 = 18 dollars.\n#### 18", True),
        ("18", "The answer is 19.", False),
        ("x^2+2x+1", "\\boxed{(x+1)^2}", True),
        ("5", "I do not know.", False),
    ],
)
async def test_grade_math_uses_math_verify(gold: str, solution: str, correct: bool) -> None:
    task = Task(
        visible=VisibleTask(id="m", kind="math", prompt="?"),
        hidden=HiddenPart(reference_answer=gold),
    )
    assert (await grade(task, solution)).correct is correct


async def test_grade_unknown_kind_is_config_error(sandbox) -> None:
    task = Task(visible=VisibleTask(id="r", kind="poetry", prompt="write one"))
    with pytest.raises(ConfigError, match="unknown task kind 'poetry'"):
        await grade(task, "a poem", sandbox)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "tasks.md").read_text()
    example = docs.split("```json\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.jsonl").write_text(example)
    code, math = load_tasks(tmp_path / "example.jsonl")
    assert code.view().entry_point == "add" and len(code.hidden.hidden_tests) == 2
    assert math.hidden.reference_answer == "0.5"
