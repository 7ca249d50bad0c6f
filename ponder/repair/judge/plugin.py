"""Pytest plug-in of the patch judge: streams signed per-test outcomes to the judge process.

Shipped into the sandbox under a random module name and loaded with `-p` from a directory
outside the repository, before any repository code is imported. Stdlib and pytest only.

It reads `PONDER_JUDGE` (event fd, key fd, repository root) and removes it from the
environment; reads the per-run key from the key pipe and closes it; then writes one line per
event to the event pipe: `seq <TAB> json <TAB> hmac-sha256(seq <TAB> json)`. It also reports
tampering it can see: pytest internals replaced after it loaded, repository code registered as a
pytest plug-in, test functions replaced, and the code under test calling process-introspection
functions (gc object walks, ctypes, other threads' frames, /proc of a process).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
from types import MappingProxyType

import pytest

_SPEC = os.environ.pop("PONDER_JUDGE", None)
_ACTIVE = _SPEC is not None

_WATCHED_EVENTS = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.cdata",
        "ctypes.addressof",
        "ctypes.string_at",
        "ctypes.PyObj_FromPtr",
    }
)
_PROC = re.compile(r"^/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/(?:mem|fd|fdinfo|environ|maps)")
_TEST_NAME = re.compile(r"(^|/)(conftest\.py|tests?\.py|test_[^/]*\.py|[^/]*_test\.py)$")
_TEST_DIR = re.compile(r"(^|/)(tests|testing)/")
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist", "venv"})


def _start():
    """The signing sender, or None outside a judged run (e.g. a nested pytest)."""
    event_fd, key_fd, root = _SPEC.split(":", 2)
    event_fd, key_fd = int(event_fd), int(key_fd)
    key = b""
    while len(key) < 32:
        chunk = os.read(key_fd, 32 - len(key))
        if not chunk:
            break
        key += chunk
    os.close(key_fd)
    os.set_inheritable(event_fd, False)
    signer = hmac.new(key, digestmod="sha256")  # keeps no Python-visible copy of the key
    del key
    counter = [0]

    def send(kind, **data):
        body = json.dumps({"kind": kind, **data}, separators=(",", ":"), default=str)
        head = f"{counter[0]}\t{body}"
        mac = signer.copy()
        mac.update(head.encode())
        counter[0] += 1
        line = f"{head}\t{mac.hexdigest()}\n".encode()
        try:
            while line:
                line = line[os.write(event_fd, line) :]
        except OSError:
            pass  # the judge is gone: it counts a missing report as a failure

    return send, os.path.realpath(root)


_HERE = os.path.dirname(os.path.realpath(__file__))


if _ACTIVE:
    _send, _ROOT = _start()
else:  # pragma: no cover - inert in nested runs

    def _send(kind, **data):
        return None

    _ROOT = ""


def _is_test_rel(rel):
    return bool(_TEST_NAME.search(rel) or _TEST_DIR.search(rel))


def _digest(path):
    try:
        with open(path, "rb") as stream:
            return hashlib.sha256(stream.read()).hexdigest()
    except OSError:
        return None


def _test_files():
    """sha256 of every test file and conftest as they were before any repository code ran."""
    found = {}
    for top, dirs, names in os.walk(_ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in names:
            path = os.path.join(top, name)
            if name.endswith(".py") and _is_test_rel(path[len(_ROOT) + 1 :]):
                found[path] = _digest(path)
    return found


def _check_test_file(filename, where):
    """Tamper if a test file or conftest about to be imported is not the one we hashed."""
    if not filename or not _ROOT:
        return
    path = os.path.realpath(str(filename))
    if not path.startswith(_ROOT + os.sep) or not path.endswith(".py"):
        return
    if not _is_test_rel(path[len(_ROOT) + 1 :]):
        return
    if path not in _TEST_FILES:
        _send("tamper", what=f"{where}: {path} appeared during the run")
    elif _digest(path) != _TEST_FILES[path]:
        _send("tamper", what=f"{where}: {path} changed during the run")


def _candidate_file(filename):
    """A repository source file that is not a test file: code under test."""
    if not filename or not _ROOT:
        return False
    path = os.path.realpath(filename)
    if not path.startswith(_ROOT + os.sep) or path.startswith(_HERE + os.sep):
        return False
    rel = path[len(_ROOT) + 1 :].replace(os.sep, "/")
    return not _is_test_rel(rel)


def _audit(event, args):
    if event not in _WATCHED_EVENTS:
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        if not isinstance(args[0], str) or not _PROC.match(args[0]):
            return
    frame = sys._getframe(1)
    while frame is not None:
        if _candidate_file(frame.f_code.co_filename):
            _send("taint", event=event, file=frame.f_code.co_filename, line=frame.f_lineno)
            return
        frame = frame.f_back


def _internals():
    """Objects pytest's test loop and reporting go through, as they were when we loaded."""
    import importlib

    def mod(name):
        try:
            return importlib.import_module(name)
        except ImportError:  # another pytest or pluggy layout: watch what exists
            return None

    runner, reports, python = mod("_pytest.runner"), mod("_pytest.reports"), mod("_pytest.python")
    skipping, main = mod("_pytest.skipping"), mod("_pytest.main")
    callers, hooks = mod("pluggy._callers"), mod("pluggy._hooks")

    def cls(module, name):
        return vars(getattr(module, name, None) or type)

    watched = {
        "runner.runtestprotocol": (runner, "runtestprotocol"),
        "runner.call_and_report": (runner, "call_and_report"),
        "runner.call_runtest_hook": (runner, "call_runtest_hook"),
        "runner.check_interactive_exception": (runner, "check_interactive_exception"),
        "runner.pytest_runtest_call": (runner, "pytest_runtest_call"),
        "runner.pytest_runtest_makereport": (runner, "pytest_runtest_makereport"),
        "runner.CallInfo.from_call": (cls(runner, "CallInfo"), "from_call"),
        "reports.TestReport.from_item_and_call": (
            cls(reports, "TestReport"),
            "from_item_and_call",
        ),
        "reports.TestReport.__init__": (cls(reports, "TestReport"), "__init__"),
        "reports.BaseReport.passed": (cls(reports, "BaseReport"), "passed"),
        "reports.BaseReport.outcome": (cls(reports, "BaseReport"), "outcome"),
        "python.Function.runtest": (cls(python, "Function"), "runtest"),
        "python.pytest_pyfunc_call": (python, "pytest_pyfunc_call"),
        "skipping.pytest_runtest_makereport": (skipping, "pytest_runtest_makereport"),
        "main.pytest_runtestloop": (main, "pytest_runtestloop"),
        "pluggy._multicall": (callers, "_multicall"),
        "pluggy.HookCaller.__call__": (cls(hooks, "HookCaller"), "__call__"),
    }

    def read(where, name):
        if isinstance(where, MappingProxyType):
            return where.get(name)
        return getattr(where, name, None)

    first = {key: read(*place) for key, place in watched.items()}
    return lambda: sorted(k for k, place in watched.items() if read(*place) is not first[k])


if _ACTIVE:
    _TEST_FILES = _test_files()
    _changed_internals = _internals()
    sys.addaudithook(_audit)  # cannot be removed; installed before any repository code runs
    _send("hello", pid=os.getpid(), pytest=pytest.__version__, python=sys.version.split()[0])
else:  # pragma: no cover
    _TEST_FILES = {}

    def _changed_internals():
        return []


_reported_internals: set[str] = set()


def _check_internals(where):
    changed = [k for k in _changed_internals() if k not in _reported_internals]
    if changed:
        _reported_internals.update(changed)
        _send("tamper", what="pytest internals replaced: " + ", ".join(changed), where=where)


_CONFIG = []


def _nodeid(nodeid):
    """A node id relative to where the command ran (as `-rA` prints it and as tasks name it)."""
    return _CONFIG[0].cwd_relative_nodeid(nodeid) if _CONFIG else nodeid


def pytest_configure(config):
    _CONFIG.append(config)


# The repository under test is pytest itself: its modules are the runner, not a hack.
_RUNNER_IS_REPO = bool(_ROOT) and _candidate_file(pytest.__file__)
_COLLECTING = []


def pytest_plugin_registered(plugin, manager):
    """Repository code may not add hooks: an object of its classes registered as a plug-in, or
    one of its modules registered once collection (its import) began. Modules named by the
    configuration (`-p`, entry points, the root conftest's pytest_plugins) load before that."""
    is_module = hasattr(plugin, "__file__")
    target = plugin if is_module else type(plugin)
    module = sys.modules.get(getattr(target, "__module__", None) or "", target)
    filename = getattr(module, "__file__", None) or getattr(target, "__file__", None)
    late = not is_module or bool(_COLLECTING)
    if late and not _RUNNER_IS_REPO and _candidate_file(filename):
        _send("tamper", what=f"repository code registered a pytest plug-in ({filename})")
    _check_test_file(filename, "plug-in")


def pytest_collectstart(collector):
    _COLLECTING[:] = [True]
    _check_test_file(getattr(collector, "path", None), "collection")


def pytest_collectreport(report):
    if report.failed:
        _send("collect_error", nodeid=_nodeid(report.nodeid))


def pytest_deselected(items):
    _send("deselected", nodeids=[_nodeid(item.nodeid) for item in items])


def pytest_collection_finish(session):
    _check_internals("collection")
    _send("collected", nodeids=[_nodeid(item.nodeid) for item in session.items])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    _check_internals(item.nodeid)
    if "runtest" in vars(item):
        _send("tamper", what=f"{item.nodeid}: runtest replaced on the test item")
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    module = getattr(getattr(item, "module", None), "__file__", None)
    if code is not None and module and _candidate_file(code.co_filename):
        _send("tamper", what=f"{item.nodeid}: the test function's code is repository code")


_MADE = {}  # (nodeid, when) -> outcome as pytest made it, before outer wrappers ran


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    """Innermost wrapper: the outcome pytest itself made, to compare with what gets logged."""
    result = yield
    try:
        report = result.get_result()
    except BaseException:  # noqa: BLE001 - the hook failed: nothing made, pytest reports it
        return
    _MADE[(report.nodeid, report.when)] = report.outcome


def pytest_runtest_logreport(report):
    made = _MADE.pop((report.nodeid, report.when), None)
    if made is None and not hasattr(report, "node"):  # xdist's reports come from its workers
        _send("tamper", what=f"{report.nodeid}: a {report.when} report pytest did not make")
    elif report.outcome == "passed" and made != "passed":
        _send("tamper", what=f"{report.nodeid}: {made} rewritten to passed after the report")
    _send(
        "report",
        nodeid=_nodeid(report.nodeid),
        when=report.when,
        outcome=report.outcome,
        xfail=hasattr(report, "wasxfail"),
    )


def pytest_sessionfinish(session, exitstatus):
    _check_internals("end")
    _send(
        "finish",
        exitstatus=int(exitstatus),
        failed=session.testsfailed,
        collected=session.testscollected,
    )
