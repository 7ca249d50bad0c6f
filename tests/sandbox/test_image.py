"""The image: built once per inputs, found by `ponder doctor`, rebuilt only when asked."""

from __future__ import annotations

import pytest

from ponder.sandbox.image import build_image, image_status, image_tags

pytestmark = [pytest.mark.docker]


def test_present_image_is_not_rebuilt(sandbox_image: str) -> None:
    lines: list[str] = []
    result = build_image(offline=True, progress=lines.append)
    assert result.built is False
    assert result.tag == sandbox_image
    assert any("up to date" in line for line in lines)


def test_image_status_reports_the_present_tag(sandbox_image: str) -> None:
    status = image_status()
    assert status.ok
    assert status.present == sandbox_image
    assert sandbox_image in image_tags().values()


def test_image_has_python_pytest_and_the_runner(engine, sandbox_image: str) -> None:
    output = engine.containers.run(
        sandbox_image,
        [
            "python3",
            "-c",
            "import pytest, pwd, os; print(pytest.__version__, pwd.getpwuid(os.getuid()).pw_name)",
        ],
        remove=True,
        network_mode="none",
    )
    version, user = output.decode().split()
    assert version[0].isdigit()
    assert user == "sandbox"
    runner = engine.containers.run(
        sandbox_image, ["test", "-r", "/opt/ponder/runner.py"], remove=True, network_mode="none"
    )
    assert runner == b""


def test_stale_containers_of_dead_processes_are_removed(engine, sandbox_image: str) -> None:
    import socket
    import subprocess

    from ponder.sandbox.docker_deployment import LABEL, OWNER_LABEL, remove_stale

    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = {LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{dead.pid}"}
    stale = engine.containers.create(sandbox_image, ["true"], labels=labels, network_mode="none")
    assert remove_stale(engine) >= 1
    assert stale.id not in {c.id for c in engine.containers.list(all=True)}
