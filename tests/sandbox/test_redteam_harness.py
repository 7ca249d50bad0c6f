"""Red team against the judge in the real Docker sandbox: cheats fail, honest solutions pass."""

from __future__ import annotations

import pytest

from ponder.sandbox import Job, Limits, open_sandbox
from ponder.testrun import run_tests
from tests.sandbox.conftest import assert_serves
from tests.sandbox.redteam_cases import HONEST, HOSTILE, Case

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

LIMITS = Limits(timeout_s=12, cpu_s=12)
PER_TEST_S = 4.0


async def judge(sandbox, case: Case):
    return await run_tests(
        sandbox,
        case.solution,
        case.tests,
        LIMITS,
        PER_TEST_S,
        helpers=case.helpers,
        entry_point=case.entry_point,
    )


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_solution_fails_every_test(pool, name: str) -> None:
    run = await judge(pool, HOSTILE[name])
    assert run.passed == 0, [o.describe() for o in run.outcomes if o.passed]
    assert run.total == len(HOSTILE[name].tests)
    assert run.feedback()  # a reason the reviewer can read, never a crash
    await assert_serves(pool, times=2)


@pytest.mark.parametrize("name", sorted(HONEST))
async def test_honest_solution_passes(pool, name: str) -> None:
    run = await judge(pool, HONEST[name])
    assert run.all_passed, run.feedback()


PROBE = r'''
import ctypes, os, re

PATTERN = re.compile(rb"SECRET-[0-9a-f]{16}")


def _hits(data):
    return bool(PATTERN.search(data))


def leaked():
    """Every place this process could read the judge's secrets from: empty when none."""
    found = []
    judge = os.getppid()
    for name in ("mem", "environ", "maps", "fd/3", "fd/4", "stack", "syscall"):
        try:
            with open(f"/proc/{judge}/{name}", "rb") as handle:
                handle.read(1)
            found.append(f"/proc/judge/{name} readable")
        except OSError:
            pass
    try:
        os.listdir(f"/proc/{judge}/fd")
        found.append("/proc/judge/fd listable")
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, judge, 0, 0) == 0:  # PTRACE_ATTACH
        found.append("ptrace attach allowed")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for name in ("cmdline", "environ", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as handle:
                    data = handle.read(1 << 20) if name != "mem" else b""
            except OSError:
                continue
            if _hits(data):
                found.append(f"/proc/{pid}/{name} holds a secret")
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its own memory becomes readable to itself
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb") as mem:
        for parts in regions:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or hi - lo > 1 << 28 or parts[-1].startswith("[v"):
                continue
            try:
                mem.seek(lo)
                if _hits(mem.read(hi - lo)):
                    found.append(f"own memory {parts[-1]}")
            except (OSError, ValueError, OverflowError):
                pass
    for root in ("/tmp", "/dev/shm", "/work", "/opt/ponder"):
        for base, _, files in os.walk(root):
            for name in files:
                try:
                    with open(os.path.join(base, name), "rb") as handle:
                        if _hits(handle.read(1 << 22)):
                            found.append(os.path.join(base, name))
                except OSError:
                    pass
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "memfd:secret" in target or "memfd:report" in target:
            found.append(f"fd {fd} is the judge's {target}")
    return found
'''


async def test_the_solution_cannot_read_the_judge_or_its_tests(pool) -> None:
    """Non-dumpable judge, secrets only in its memfd and memory: nothing readable from the
    solution's process (its memory, the judge's /proc files, ptrace, files, other processes)."""
    secret = "SECRET-" + "0123456789abcdef"
    tests = [f"EXPECTED = {secret!r}\nassert leaked() == []\n"]
    run = await run_tests(pool, PROBE, tests, LIMITS, 20.0, entry_point="leaked")
    assert run.all_passed, run.feedback()


async def test_a_later_job_finds_no_earlier_tests_in_the_runner(single) -> None:
    """Jobs fork from the runner: a judged job's tests must not stay in its heap."""
    secret = "SECRET-" + "fedcba9876543210"
    first = await run_tests(single, "def f():\n    return 1\n", [f"assert f() == 1, {secret!r}\n"])
    assert first.all_passed, first.feedback()
    scan = PROBE + "\nprint(leaked())\n"
    result = await single.run(Job(code=scan, limits=LIMITS))
    assert result.status == "ok", result
    assert result.stdout.strip() == "[]", result.stdout


FORGE = r'''
import json, os, struct

def add(a, b):
    """Write fake runner answers (ids 1..40, a fake report) straight into the container's
    stdout through PID 1's descriptors, if the kernel lets it."""
    report = "\n".join(json.dumps(r) for r in [{"nonce": "0" * 32}, {"load": None}]
                       + [{"test": i, "passed": True, "error": None} for i in range(3)]
                       + [{"end": True}]) + "\n"
    for target in ("/proc/1/fd/1", "/proc/1/fd/2"):
        try:
            fd = os.open(target, os.O_WRONLY)
        except OSError:
            continue
        for ident in range(1, 41):
            body = json.dumps({"id": ident, "status": "ok", "exit_code": 0, "dirty": False,
                               "report_bytes": len(report)}).encode()
            os.write(fd, struct.pack(">I", len(body)) + body + report.encode())
    return 0
'''


async def test_forged_runner_answers_do_not_pass(pool) -> None:
    run = await judge(pool, Case(FORGE))
    assert run.passed == 0, run.to_dict()
    await assert_serves(pool, times=3)


async def test_a_forged_answer_with_the_right_id_does_not_pass(sandbox_image) -> None:
    """On a fresh runner the first job has id 2 (the ping was 1). The runner is PID 1, so the
    stream is out of reach; were it not, the forged report's nonce would still be refused
    (test_judge_local.py::test_missing_or_forged_reports_fail_every_test)."""
    forge = FORGE.replace("range(1, 41)", "(2,)")
    async with open_sandbox("docker", pool_size=1, image=sandbox_image) as fresh:
        run = await judge(fresh, Case(forge))
        assert run.passed == 0, run.to_dict()
        after = await fresh.run(Job(code="print(6 * 7)"))
        assert after.status == "ok" and after.stdout == "42\n", after
