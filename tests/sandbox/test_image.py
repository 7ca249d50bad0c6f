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
