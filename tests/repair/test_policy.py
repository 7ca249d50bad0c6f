"""The patch policy: what a candidate patch may change, and the reasons it gives the agent."""

from __future__ import annotations

import json

import pytest

from ponder.kinds.repair import RepairKind
from ponder.repair.patches import make_patch, parse_unified_diff
from ponder.repair.policy import PatchPolicy, PatchRefused, is_test_path
from ponder.repair.task import load_scenario
from ponder.repair.workspace import PatchedView, RepoSnapshot
from ponder.scenarios.paths import data_dir
from tests.repair.conftest import SCENARIOS

SWE_LITE = data_dir() / "swe_bench_lite" / "test.jsonl"


@pytest.fixture
def repo(tmp_path) -> RepoSnapshot:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").write_text("def f():\n    return 1\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'
    )
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = pkg\n")
    return RepoSnapshot(tmp_path)


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_a.py",
        "tests/helpers.py",
        "tests/data/x.json",
        "pkg/tests/util.py",
        "testing/test_x.py",
        "test_top.py",
        "pkg/thing_test.py",
        "conftest.py",
        "pkg/conftest.py",
    ],
)
def test_test_files_by_layout(path):
    assert is_test_path(path)


@pytest.mark.parametrize("path", ["pkg/core.py", "pkg/testutils.py", "django/test/utils.py"])
def test_source_files_are_not_test_files(path):
    assert not is_test_path(path)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"tests/test_x.py": "def test_x():\n    pass\n"}, "a test file"),
        ({"pkg/conftest.py": "x = 1\n"}, "a test file"),
        ({"pytest.ini": "[pytest]\n"}, "test configuration"),
        ({"tox.ini": "[tox]\n"}, "test configuration"),
        ({"sitecustomize.py": "x = 1\n"}, "interpreter start"),
        ({"pytest.py": "x = 1\n"}, "interpreter start"),
        ({"pkg/hook.pth": "import os\n"}, "interpreter start"),
        ({"_pytest/runner.py": "x = 1\n"}, "interpreter start"),
        ({"setup.cfg": "[metadata]\nname = pkg\n[tool:pytest]\naddopts = -k nothing\n"}, "pytest"),
        (
            {
                "pyproject.toml": '[project]\nname = "pkg"\n\n[tool.pytest.ini_options]\naddopts = "-x"\n'
            },
            "pytest configuration",
        ),
        ({"pkg/core.py": "import _pytest.runner\n"}, "reach into the test runner"),
        ({"pkg/core.py": "import ctypes\n"}, "reach into the test runner"),
        ({"pkg/core.py": "import gc\nx = gc.get_objects()\n"}, "reach into the test runner"),
        ({"pkg/core.py": "open('/proc/self/mem')\n"}, "reach into the test runner"),
    ],
)
def test_refused_changes_say_why(repo, changes, says):
    policy = PatchPolicy.for_repo(repo)
    with pytest.raises(PatchRefused) as caught:
        policy.check(repo, make_patch(repo, changes), repo.root)
    assert says in caught.value.reason


def test_source_and_other_config_changes_are_allowed(repo):
    policy = PatchPolicy.for_repo(repo)
    changes = {
        "pkg/core.py": "import os\n\n\ndef f():\n    return 2\n",
        "pkg/new.py": "X = 1\n",
        "pyproject.toml": '[project]\nname = "pkg2"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n',
        "setup.cfg": "[metadata]\nname = pkg2\n",
    }
    assert policy.check(repo, make_patch(repo, changes), repo.root) == changes


def test_code_check_is_off_for_pytest_itself(tmp_path):
    (tmp_path / "src" / "_pytest").mkdir(parents=True)
    (tmp_path / "src" / "_pytest" / "__init__.py").write_text("")
    (tmp_path / "src" / "_pytest" / "runner.py").write_text("x = 1\n")
    snapshot = RepoSnapshot(tmp_path)
    patch = make_patch(snapshot, {"src/_pytest/runner.py": "from _pytest import nodes\nx = 1\n"})
    assert PatchPolicy.for_repo(snapshot).check(snapshot, patch, tmp_path)


def test_agent_rejects_a_refused_edit_with_the_policy_reason():
    task = load_scenario(SCENARIOS / "offbyone_pagination")
    kind = RepairKind()  # parse_candidate calls no model
    reply = "conftest.py\n<<<<<<< SEARCH\n=======\nimport pytest\n>>>>>>> REPLACE\n"
    refused = kind.parse_candidate(reply, task.view(), [])
    assert not refused.ok and refused.answer is None
    assert "test file" in (refused.parse_error or "")
    visible_test = (
        "tests/test_core.py\n<<<<<<< SEARCH\ndef test_get_page_first\n=======\n"
        "def test_get_page_first_renamed\n>>>>>>> REPLACE\n"
    )
    assert not kind.parse_candidate(visible_test, task.view(), []).ok
    honest = (
        "pager/core.py\n<<<<<<< SEARCH\n    end = start + per_page - 1\n=======\n"
        "    end = start + per_page\n>>>>>>> REPLACE\n"
    )
    draft = kind.parse_candidate(honest, task.view(), [])
    assert draft.ok and draft.state["changed"] == ["pager/core.py"]
    assert "+    end = start + per_page\n" in (draft.answer or "")


def test_setup_patch_files_stay_editable_by_nobody_but_the_setup(repo):
    """SWE-bench's visible-tests setting: the setup patch adds tests; edits to them are refused."""
    setup = {"tests/test_new.py": "def test_new():\n    pass\n"}
    view = PatchedView(repo, setup)
    policy = PatchPolicy.for_repo(repo)
    with pytest.raises(PatchRefused):
        policy.check_changes(view, {"tests/test_new.py": "def test_new():\n    assert 1\n"})


@pytest.mark.skipif(not SWE_LITE.is_file(), reason="SWE-bench Lite reference data not present")
def test_swe_bench_lite_gold_patches_pass_and_test_patches_are_refused():
    """Measured on all 300 instances: the policy refuses no gold patch's paths or code, and
    every test_patch touches a file it protects."""
    refused, test_patch_allowed = [], []
    for line in SWE_LITE.read_text().splitlines():
        record = json.loads(line)
        policy = PatchPolicy(check_code=not record["repo"].endswith("pytest"))
        try:
            for fd in parse_unified_diff(record["patch"]):
                rel = fd.new_path or fd.old_path or ""
                policy.check_path(rel)
                for hunk in fd.hunks:
                    if policy.check_code and rel.endswith(".py"):
                        policy.check_added_code(rel, "".join(hunk.old), "".join(hunk.new))
        except PatchRefused as exc:
            refused.append((record["instance_id"], exc.reason))
        paths = [
            fd.new_path or fd.old_path or "" for fd in parse_unified_diff(record["test_patch"])
        ]
        if not any(is_test_path(p) for p in paths):
            test_patch_allowed.append(record["instance_id"])
    assert refused == []
    assert test_patch_allowed == []
