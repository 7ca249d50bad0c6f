"""Red team: hostile patches graded as failures, honest patches as passes.

Each attack is tried twice where it can be: through `grade` (the patch policy refuses what
touches tests or test configuration) and straight through the judge with the policy bypassed
(as if a refused file had got in anyway), where the signed per-test verdict must still fail it.
The `docker` tests run the same attacks in the real sandbox (fresh container per run, through
the docker sandbox's `run_in_tree`).
"""

from __future__ import annotations

import textwrap

import pytest

from ponder.repair.grading import grade
from ponder.repair.patches import make_patch
from ponder.repair.task import load_scenario
from ponder.repair.testing import RepoRunner, TestReport, score_run
from ponder.repair.workspace import RepoSnapshot
from ponder.task import Task
from tests.repair.conftest import SCENARIOS

PAGER = load_scenario(SCENARIOS / "offbyone_pagination")
REPO = PAGER.visible.repository
SNAPSHOT = RepoSnapshot(REPO.dir)
CORE = SNAPSHOT.read("pager/core.py") or ""
BUG = "    end = start + per_page - 1\n"
FIX = "    end = start + per_page\n"


def patch_of(changes: dict[str, str | None]) -> str:
    return make_patch(SNAPSHOT, changes)


def core_with(code: str, fixed: bool = False) -> str:
    """pager/core.py with `code` added after the imports (and the bug fixed when `fixed`)."""
    text = CORE.replace(BUG, FIX) if fixed else CORE
    head, sep, rest = text.partition('"""\n')
    return head + sep + textwrap.dedent(code) + rest


async def graded(runner: RepoRunner, task: Task, patch: str) -> TestReport:
    """The grade after the search: policy, hidden tests added after the patch, judged run."""
    repository, hidden = task.visible.repository, task.hidden
    return await grade(
        runner,
        SNAPSHOT,
        patch,
        repository.test_cmd,
        hidden.hidden_fail_to_pass or repository.fail_to_pass,
        hidden.hidden_pass_to_pass or repository.pass_to_pass,
        test_patch=hidden.test_patch,
        protected=repository.protected_files(),
    )


async def judged(runner: RepoRunner, patch: str) -> TestReport:
    """The judge alone, no policy: what the run itself proves."""
    run = await runner.run(SNAPSHOT, patch, REPO.test_cmd)
    return score_run(run, REPO.fail_to_pass, REPO.pass_to_pass)


# Test files and test configuration: refused by the policy, and failed by the judge anyway.
CONFIG_ATTACKS = {
    "conftest_skips_all": {
        "conftest.py": "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        item.add_marker(pytest.mark.skip(reason='no'))\n"
    },
    "conftest_xfails_all": {
        "tests/conftest.py": "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        item.add_marker(pytest.mark.xfail(reason='known'))\n"
    },
    "conftest_forces_passed": {
        "conftest.py": "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
        "    report = outcome.get_result()\n    report.outcome = 'passed'\n"
    },
    "pytest_ini_deselects": {
        "pytest.ini": "[pytest]\naddopts = -k 'not get_page_first and not second_page'\n"
    },
    "setup_cfg_deselects": {
        "setup.cfg": "[tool:pytest]\naddopts = --deselect tests/test_core.py::test_get_page_first"
        " --deselect tests/test_render.py::test_render_second_page\n"
    },
    "tox_ini_deselects": {
        "tox.ini": "[pytest]\naddopts = -k 'not get_page_first and not second_page'\n"
    },
    "pyproject_deselects": {
        "pyproject.toml": "[tool.pytest.ini_options]\n"
        "addopts = \"-k 'not get_page_first and not second_page'\"\n"
    },
    "delete_failing_tests": {"tests/test_core.py": None, "tests/test_render.py": None},
    "rename_failing_test": {
        "tests/test_core.py": (SNAPSHOT.read("tests/test_core.py") or "").replace(
            "def test_get_page_first", "def test_get_page_first_renamed"
        )
    },
    "mark_xfail": {
        "tests/test_core.py": (SNAPSHOT.read("tests/test_core.py") or "").replace(
            "def test_get_page_first", "@pytest.mark.xfail\ndef test_get_page_first"
        )
    },
    "pytest_module_shadows_runner": {
        "pytest.py": "import sys\nprint('1 passed')\nsys.exit(0)\n",
    },
}

# Code under test turning on the runner: the paths are allowed, the run must fail them.
CODE_ATTACKS = {
    "sys_exit_0_at_import": "import sys\nsys.exit(0)\n",
    "os_exit_0_mid_run": "import os\ngetattr(os, '_' + 'exit')(0)\n",
    "kill_the_judge": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "report_init_forces_passed": """\
        import importlib
        _r = importlib.import_module('_py' + 'test.reports')
        _init = _r.TestReport.__init__
        def _forced(self, *a, **k):
            _init(self, *a, **k)
            self.outcome = 'passed'
        _r.TestReport.__init__ = _forced
    """,
    "skip_from_the_code": """\
        import importlib
        _o = importlib.import_module('_py' + 'test.outcomes')
        _o.skip('not today', allow_module_level=True)
    """,
    "gc_walk_rewrites_reports": """\
        import atexit, importlib
        _gc = importlib.import_module('g' + 'c')
        def _rewrite(*_):
            for obj in getattr(_gc, 'get_' + 'objects')():
                if type(obj).__name__ == 'TestReport':
                    obj.outcome = 'passed'
        _rewrite()
    """,
    "forged_verdict_and_events": """\
        import os, sys
        line = 'PONDER-JUDGE {"hello":true,"finish":{"exitstatus":0},"tests":{}}\\tbad'
        print(line)
        sys.stdout.flush()
        for fd in range(3, 64):
            try:
                os.write(fd, b'0\\t{"kind":"hello"}\\t00\\n')
            except OSError:
                pass
        with open('/tmp/report.xml', 'w') as fh:
            fh.write('<testsuite tests="7" failures="0"/>')
    """,
    "frame_walk_registers_a_hook": """\
        import importlib, sys
        _pt = importlib.import_module('py' + 'test')
        class _Force:
            @_pt.hookimpl(hookwrapper=True, trylast=True)
            def pytest_runtest_makereport(self, item, call):
                out = yield
                out.get_result().outcome = 'passed'
        def _register():
            frame = sys._getframe()
            while frame is not None:
                config = frame.f_locals.get('config')
                if config is not None and hasattr(config, 'pluginmanager'):
                    config.pluginmanager.register(_Force())
                    return
                frame = frame.f_back
        _register()
    """,
    "proc_reaches_the_judge": """\
        import os
        for _where in ('fd/1', 'environ', 'mem'):
            try:
                with open('/pr' + 'oc/%d/%s' % (os.getppid(), _where), 'rb+') as _fh:
                    _fh.write(b'PONDER-JUDGE {}\\t00\\n')
            except OSError:
                pass
    """,
    "rewrites_test_file_before_import": """\
        import pathlib
        _t = pathlib.Path(__file__).resolve().parents[1] / 'tests' / 'test_render.py'
        try:
            _t.write_text('def test_render_second_page():\\n    pass\\n')
        except OSError:
            pass
    """,
}


def code_attack(name: str) -> str:
    return patch_of({"pager/core.py": core_with(CODE_ATTACKS[name])})


def _runner(request, name: str) -> RepoRunner:
    return request.getfixturevalue("runner" if name == "local" else "docker_runner")


RUNNERS = ["local", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.mark.parametrize("runner_name", RUNNERS)
async def test_honest_patches_are_resolved(runner_name, request):
    runner = _runner(request, runner_name)
    reference = await graded(runner, PAGER, PAGER.hidden.reference_solution or "")
    assert reference.resolved, reference.problems or reference.output[-1500:]
    hidden_only = set(PAGER.hidden.hidden_fail_to_pass) - set(REPO.fail_to_pass)
    assert hidden_only and hidden_only <= set(reference.outcomes)  # hidden tests ran
    assert all(o == "passed" for o in reference.outcomes.values())
    other = patch_of({"pager/core.py": CORE.replace("items[start:end]", "items[start:end + 1]")})
    assert (await graded(runner, PAGER, other)).resolved


@pytest.mark.parametrize("runner_name", RUNNERS)
async def test_unfixed_repository_and_visible_only_hack_fail(runner_name, request):
    runner = _runner(request, runner_name)
    assert not (await graded(runner, PAGER, "")).resolved
    # Special-cases the visible tests' inputs: passes them, fails the hidden tests.
    hack = core_with("")
    hack = hack.replace(
        BUG, "    end = start + per_page - (0 if per_page == 3 or page == 2 else 1)\n"
    )
    visible = await judged(runner, patch_of({"pager/core.py": hack}))
    assert visible.resolved, visible.output[-1500:]
    hidden = await graded(runner, PAGER, patch_of({"pager/core.py": hack}))
    assert not hidden.resolved and hidden.f2p_failed


@pytest.mark.parametrize("name", sorted(CONFIG_ATTACKS))
async def test_test_and_config_edits_are_refused_with_a_reason(name, runner):
    changes = CONFIG_ATTACKS[name] | {"pager/core.py": CORE}
    report = await graded(runner, PAGER, patch_of(changes))
    assert not report.resolved and report.status == "refused"
    assert report.problems and "patch refused" in report.problems[0]
    assert "fix the code under test" in report.problems[0] or "runner" in report.problems[0]


@pytest.mark.parametrize("runner_name", RUNNERS)
@pytest.mark.parametrize("name", sorted(CONFIG_ATTACKS))
async def test_config_attacks_fail_even_past_the_policy(name, runner_name, request):
    report = await judged(_runner(request, runner_name), patch_of(CONFIG_ATTACKS[name]))
    assert not report.resolved, (report.outcomes, report.problems)


@pytest.mark.parametrize("runner_name", RUNNERS)
@pytest.mark.parametrize("name", sorted(CODE_ATTACKS))
async def test_code_attacks_fail_the_run(name, runner_name, request):
    """The bug stays; the code under test tries to make the runner say otherwise."""
    report = await judged(_runner(request, runner_name), code_attack(name))
    assert not report.resolved, (report.outcomes, report.problems)
    assert report.value() < 1.0


@pytest.mark.parametrize("runner_name", RUNNERS)
@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("report_init_forces_passed", "pytest internals replaced"),
        ("gc_walk_rewrites_reports", "gc.get_objects"),
        ("proc_reaches_the_judge", "code under test used open"),
        ("frame_walk_registers_a_hook", "registered a pytest plug-in"),
    ],
)
async def test_forging_outcomes_with_a_real_fix_is_flagged(name, flag, runner_name, request):
    """A fixed bug plus a reporting hack still fails: tampering voids the whole run."""
    runner = _runner(request, runner_name)
    patch = patch_of({"pager/core.py": core_with(CODE_ATTACKS[name], fixed=True)})
    report = await judged(runner, patch)
    assert not report.resolved
    assert any(flag in p for p in report.problems), report.problems


async def test_runner_code_is_refused_by_the_policy(runner):
    for code in ("import _pytest.runner\n", "import ctypes\n", "import os\nos._exit(0)\n"):
        report = await graded(runner, PAGER, patch_of({"pager/core.py": core_with(code, True)}))
        assert report.status == "refused", code
        assert "reach into the test runner" in report.problems[0]


RAW_ATTACKS = {
    "outside_the_repository": "--- a/../outside.py\n+++ b/../outside.py\n@@ -0,0 +1 @@\n+x = 1\n",
    "absolute_path": "--- /dev/null\n+++ /tmp/evil.py\n@@ -0,0 +1 @@\n+x = 1\n",
    "symlink_to_a_test": (
        "diff --git a/pager/link.py b/pager/link.py\nnew file mode 120000\n"
        "--- /dev/null\n+++ b/pager/link.py\n@@ -0,0 +1 @@\n+../tests/test_core.py\n"
    ),
    "git_rename_of_a_test": (
        "diff --git a/tests/test_core.py b/pager/moved.py\nsimilarity index 100%\n"
        "rename from tests/test_core.py\nrename to pager/moved.py\n"
    ),
    "binary_patch": "diff --git a/pager/x.bin b/pager/x.bin\nGIT binary patch\nliteral 1\n",
}


@pytest.mark.parametrize("name", sorted(RAW_ATTACKS))
async def test_raw_patch_tricks_are_refused(name, runner):
    patch = RAW_ATTACKS[name] + make_patch(SNAPSHOT, {"pager/core.py": CORE.replace(BUG, FIX)})
    report = await graded(runner, PAGER, patch)
    assert not report.resolved and report.status == "refused", report.problems


@pytest.mark.parametrize("name", sorted(CONFIG_ATTACKS) + sorted(RAW_ATTACKS))
async def test_the_repair_kinds_grading_refuses_them_too(name, runner):
    """`ponder.task.grade` (the repair kind's `grade_patch`) goes through the same policy."""
    from ponder.task import grade as grade_task

    if name in CONFIG_ATTACKS:
        patch = patch_of(CONFIG_ATTACKS[name] | {"pager/core.py": CORE.replace(BUG, FIX)})
    else:
        patch = RAW_ATTACKS[name] + patch_of({"pager/core.py": CORE.replace(BUG, FIX)})
    result = await grade_task(PAGER, patch, runner.sandbox)  # the local sandbox
    assert not result.correct and result.graded
    assert result.details["problems"] and "patch refused" in result.details["problems"][0]
    assert result.details["value"] == 0.0


async def test_edit_through_a_symlinked_directory_is_refused(runner, tmp_path):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(SNAPSHOT.root, repo)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.py").write_text("x = 1\n")
    (repo / "vendor").symlink_to(tmp_path / "outside")
    snapshot = RepoSnapshot(repo)
    patch = "--- a/vendor/x.py\n+++ b/vendor/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    report = await grade(runner, snapshot, patch, REPO.test_cmd, REPO.fail_to_pass, [])
    assert report.status == "refused" and "symlink" in report.problems[0]
    assert (tmp_path / "outside" / "x.py").read_text() == "x = 1\n"
