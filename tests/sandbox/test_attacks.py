"""Hostile programs are contained, reported with the right status, and the pool keeps serving."""

from __future__ import annotations

import pytest

from ponder.sandbox import Job, Limits, open_sandbox
from tests.sandbox.conftest import assert_serves, run_json, run_ok

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

MARKER = "[... output truncated by ponder sandbox:"


async def test_fork_bomb_is_contained(pool) -> None:
    code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    result = await pool.run(Job(code=code, limits=Limits(timeout_s=2, cpu_s=2, processes=32)))
    assert result.status in {"timeout", "error"}, result
    await assert_serves(pool)


async def test_shell_fork_bomb_is_contained(pool) -> None:
    job = Job(command=["sh", "-c", "b() { b | b & }; b"], limits=Limits(timeout_s=2, processes=32))
    result = await pool.run(job)
    assert result.status in {"timeout", "error", "ok"}, result
    await assert_serves(pool)


@pytest.mark.parametrize(
    "code",
    [
        "x = bytearray(8 * 1024**3)",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))",
    ],
    ids=["one-block", "gradual"],
)
async def test_memory_bomb_reports_oom(pool, code: str) -> None:
    result = await pool.run(Job(code=code, limits=Limits(memory_mb=256, timeout_s=20)))
    assert result.status == "oom", result
    await assert_serves(pool)


async def test_memory_bomb_in_a_subprocess(pool) -> None:
    code = "python3 -c 'x = bytearray(8 * 1024**3)'"
    result = await pool.run(Job(command=["sh", "-c", code], limits=Limits(memory_mb=256)))
    assert result.status in {"oom", "error"}, result
    assert result.status != "ok"
    await assert_serves(pool)


async def test_cpu_spin_hits_the_wall_timeout(pool) -> None:
    result = await pool.run(Job(code="while True:\n    pass", limits=Limits(timeout_s=1, cpu_s=30)))
    assert result.status == "timeout", result
    await assert_serves(pool)


async def test_cpu_spin_hits_the_cpu_limit(pool) -> None:
    result = await pool.run(Job(code="while True:\n    pass", limits=Limits(timeout_s=30, cpu_s=1)))
    assert result.status == "timeout", result
    assert "CPU" in result.note
    await assert_serves(pool)


async def test_sleeping_job_times_out(pool) -> None:
    result = await pool.run(Job(code="import time\ntime.sleep(60)", limits=Limits(timeout_s=1)))
    assert result.status == "timeout", result
    await assert_serves(pool)


async def test_endless_output_is_truncated_with_a_marker(pool) -> None:
    limits = Limits(output_bytes=10_000, timeout_s=10)
    result = await pool.run(Job(code="while True:\n    print('x' * 1000)", limits=limits))
    assert result.status == "output_limit", result
    assert MARKER in result.stdout
    assert result.stdout.startswith("x" * 1000)
    assert len(result.stdout) < limits.output_bytes + 200
    await assert_serves(pool)


async def test_endless_stderr_is_truncated(pool) -> None:
    code = "import sys\nwhile True:\n    sys.stderr.write('e' * 1000)"
    result = await pool.run(Job(code=code, limits=Limits(output_bytes=5_000)))
    assert result.status == "output_limit", result
    assert MARKER in result.stderr
    await assert_serves(pool)


async def test_huge_file_hits_the_file_size_limit(pool) -> None:
    code = "with open('big', 'wb') as f:\n    f.write(b'0' * (64 * 1024**2))"
    result = await pool.run(Job(code=code, limits=Limits(file_size_mb=8)))
    assert result.status == "error", result
    assert "File too large" in result.stderr
    await assert_serves(pool)


async def test_huge_file_fills_the_tmpfs_not_the_host(pool) -> None:
    code = (
        "with open('big', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'0' * 1024**2)\n"
    )
    result = await pool.run(Job(code=code, limits=Limits(file_size_mb=4096, memory_mb=256)))
    assert result.status == "error", result
    assert "No space left" in result.stderr
    # The tmpfs was wiped after the job: a normal file write works again.
    follow = await pool.run(Job(code="open('f', 'wb').write(b'1' * 1024**2)\nprint('ok')"))
    assert follow.stdout == "ok\n", follow
    await assert_serves(pool)


async def test_huge_file_from_a_shell_command(pool) -> None:
    job = Job(
        command=["sh", "-c", "head -c 100000000 /dev/zero > big"], limits=Limits(file_size_mb=8)
    )
    result = await pool.run(job)
    assert result.status == "error", result
    await assert_serves(pool)


async def test_the_runner_cannot_be_killed_from_a_job(pool) -> None:
    """The runner is the container's PID 1: SIGKILL from inside its namespace is ignored."""
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(os.getppid())"
    result = await pool.run(Job(code=code))
    assert result.status == "ok" and result.stdout == "1\n", result
    assert not result.retried
    await assert_serves(pool, times=4)


async def test_kill_everything_kills_only_the_job(pool) -> None:
    code = "import os, signal\nif os.fork() == 0:\n    os.kill(-1, signal.SIGKILL)\nos.wait()"
    result = await pool.run(Job(code=code))
    assert result.status == "error" and "SIGKILL" in result.note, result
    assert not result.retried
    await assert_serves(pool, times=4)


async def test_jobs_cannot_reach_the_host_stream_through_pid_1(pool) -> None:
    """No process a job can open /proc/<pid>/fd of holds the attach stream (forged answers)."""
    code = (
        "import os\nopened = []\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    for fd in ('0', '1', '2'):\n"
        "        path = f'/proc/{pid}/fd/{fd}'\n"
        "        try:\n"
        "            target = os.readlink(path)\n"
        "            os.close(os.open(path, os.O_WRONLY if fd != '0' else os.O_RDONLY))\n"
        "        except OSError:\n"
        "            continue\n"
        "        if pid not in (str(os.getpid()), 'self') and target.startswith('pipe:'):\n"
        "            opened.append((pid, fd, target))\n"
        "print(opened)\n"
    )
    result = await pool.run(Job(code=code))
    assert result.status == "ok" and result.stdout == "[]\n", result


async def test_killing_pid_1_does_not_break_the_pool(pool) -> None:
    code = "import os, signal\ntry:\n    os.kill(1, signal.SIGKILL)\nexcept OSError as exc:\n    print(exc.errno)"
    result = await pool.run(Job(code=code))
    assert result.status in {"ok", "sandbox_error"}, result
    await assert_serves(pool, times=4)


async def test_the_runner_cannot_be_stopped_from_a_job(single) -> None:
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"
    result = await single.run(Job(code=code, limits=Limits(timeout_s=1)))
    assert result.status == "ok" and not result.retried, result
    await assert_serves(single)


async def test_children_left_sleeping_are_gone_before_the_next_job(single) -> None:
    code = (
        "import os, subprocess\n"
        "subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "subprocess.Popen(['sleep', '1001'])\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        import time; time.sleep(1000)\n"
        "    os._exit(0)\n"
        "print('spawned')\n"
    )
    first = await run_ok(single, code)
    assert first.stdout == "spawned\n"
    census = (
        "import os, json\n"
        "mine = {1, os.getpid(), os.getppid()}\n"
        "others = {}\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit() and int(pid) not in mine:\n"
        "        try:\n"
        "            others[pid] = open(f'/proc/{pid}/cmdline').read()\n"
        "        except OSError:\n"
        "            pass\n"
        "print(json.dumps(others))\n"
    )
    assert await run_json(single, census) == {}


async def test_files_of_one_job_are_invisible_to_the_next(single) -> None:
    writer = (
        "import os, json\n"
        "for path in ('left.txt', '/tmp/left.txt', '/dev/shm/left.txt'):\n"
        "    open(path, 'w').write('secret')\n"
        "print(json.dumps(os.getcwd()))\n"
    )
    first_dir = await run_json(single, writer)
    reader = (
        "import os, json\n"
        f"paths = [{first_dir!r}, {first_dir + '/left.txt'!r}, '/tmp/left.txt', '/dev/shm/left.txt']\n"
        "print(json.dumps({'exists': [p for p in paths if os.path.exists(p)],\n"
        "    'tmp': os.listdir('/tmp'), 'shm': os.listdir('/dev/shm'), 'cwd': os.getcwd()}))\n"
    )
    seen = await run_json(single, reader)
    assert seen["exists"] == []
    assert seen["tmp"] == [os_basename(seen["cwd"])]
    assert seen["shm"] == []


async def test_sysv_shared_memory_does_not_survive_a_job(single) -> None:
    make = "import ctypes\nlibc = ctypes.CDLL(None)\nprint(libc.shmget(0x5eed, 4096, 0o1666))\n"
    first = await run_ok(single, make)
    assert int(first.stdout) >= 0
    check = "print(open('/proc/sysvipc/shm').read().splitlines()[1:])"
    second = await single.run(Job(code=check))
    assert second.stdout == "[]\n", second


def os_basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


async def test_memory_past_the_container_limit_is_an_oom_kill(sandbox_image) -> None:
    """rlimit set above the container's memory: the cgroup OOM killer takes the job, not the runner."""
    async with open_sandbox("docker", pool_size=1, image=sandbox_image, memory_mb=256) as small:
        code = "chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024**2))"
        result = await small.run(Job(code=code, limits=Limits(memory_mb=4096, timeout_s=60)))
        assert result.status == "oom", result
        assert not result.retried
        await assert_serves(small)


async def test_posix_message_queues_do_not_survive_a_job(single) -> None:
    make = (
        "import ctypes, os\n"
        "rt = ctypes.CDLL('librt.so.1', use_errno=True)\n"
        "print(rt.mq_open(b'/ponder-leak', os.O_CREAT | os.O_RDWR, 0o600, None))\n"
    )
    first = await run_ok(single, make)
    assert int(first.stdout) >= 0
    second = await single.run(Job(code="import os\nprint(os.listdir('/dev/mqueue'))"))
    assert second.stdout == "[]\n", second
