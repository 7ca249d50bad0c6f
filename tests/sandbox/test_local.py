"""The local backend: same runner on the host, rlimits and a temp dir, loudly NOT isolated."""

from __future__ import annotations

import logging

import pytest

from ponder.errors import ConfigError
from ponder.sandbox import Job, Limits, open_sandbox


@pytest.fixture
async def local():
    async with open_sandbox("local", pool_size=1) as sandbox:
        yield sandbox


async def test_runs_code_with_stdin_and_warns_every_time(local, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ponder.sandbox.local"):
        first = await local.run(Job(code="print(input()[::-1])", stdin="abc\n"))
        second = await local.run(Job(code="print(2)"))
    assert first.status == "ok" and first.stdout == "cba\n"
    assert second.stdout == "2\n"
    assert "NOT isolated" in first.note and "NOT isolated" in second.note
    assert sum("NOT isolated" in r.message for r in caplog.records) == 2
    assert local.isolated is False


async def test_files_and_command_run_in_a_fresh_temp_dir(local) -> None:
    job = Job(files={"lib/a.txt": "data"}, command=["sh", "-c", "cat lib/a.txt; echo; pwd"])
    result = await local.run(job)
    assert result.status == "ok", result
    text, cwd = result.stdout.splitlines()
    assert text == "data"
    again = await local.run(Job(command=["sh", "-c", f"test -e {cwd} && echo left || echo gone"]))
    assert again.stdout == "gone\n"


async def test_host_environment_is_not_passed(local, monkeypatch) -> None:
    monkeypatch.setenv("PONDER_LOCAL_SECRET", "x")
    result = await local.run(Job(code="import os; print('PONDER_LOCAL_SECRET' in os.environ)"))
    assert result.stdout == "False\n"


@pytest.mark.parametrize(
    ("code", "limits", "status"),
    [
        ("import sys\nsys.exit(3)", Limits(), "error"),
        ("1 / 0", Limits(), "error"),
        ("while True:\n    pass", Limits(timeout_s=1, cpu_s=10), "timeout"),
        ("while True:\n    pass", Limits(timeout_s=10, cpu_s=1), "timeout"),
        ("while True:\n    print('y' * 100)", Limits(output_bytes=2000), "output_limit"),
        ("x = bytearray(4 * 1024**3)", Limits(memory_mb=256), "oom"),
        ("open('f', 'wb').write(b'0' * 4 * 1024**2)", Limits(file_size_mb=1), "error"),
    ],
    ids=["exit-3", "exception", "wall", "cpu", "output", "memory", "file-size"],
)
async def test_limits_give_the_right_status(local, code: str, limits: Limits, status: str) -> None:
    result = await local.run(Job(code=code, limits=limits))
    assert result.status == status, result
    follow = await local.run(Job(code="print('fine')"))
    assert follow.stdout == "fine\n"


async def test_exit_code_and_traceback_are_reported(local) -> None:
    result = await local.run(Job(code="raise ValueError('bad input')"))
    assert result.exit_code == 1
    assert "ValueError: bad input" in result.stderr
    assert 'File "' in result.stderr and "main.py" in result.stderr


async def test_killing_the_local_runner_is_retried(local) -> None:
    result = await local.run(Job(code="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    assert result.retried and result.status == "sandbox_error"
    assert (await local.run(Job(code="print(1)"))).stdout == "1\n"


async def test_missing_program_is_an_error_not_a_crash(local) -> None:
    result = await local.run(Job(command=["definitely-not-a-program-xyz"]))
    assert result.status == "error"
    assert result.exit_code == 127


def test_unknown_kind_and_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox kind 'cloud'"):
        open_sandbox("cloud")
    with pytest.raises(ConfigError, match="bad option"):
        open_sandbox("local", colour="blue")


async def test_a_job_without_code_or_command_is_rejected(local) -> None:
    from ponder.errors import SandboxError

    with pytest.raises(SandboxError, match="neither `code` nor `command`"):
        await local.run(Job())


def test_unknown_docker_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown docker sandbox option"):
        open_sandbox("docker", memory_gb=4)


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.py", "a/../../b", ""])
async def test_file_names_outside_the_work_dir_are_rejected(local, name: str) -> None:
    from ponder.errors import SandboxError

    with pytest.raises(SandboxError, match="not a relative path"):
        await local.run(Job(files={name: "x"}, command=["true"]))


def test_limits_reject_nonsense() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="timeout_s"):
        Limits(timeout_s=0)
    with pytest.raises(ValidationError, match="memory_mb"):
        Limits(memory_mb=1)
