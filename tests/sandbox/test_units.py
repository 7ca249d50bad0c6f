"""Pure units: apt sources parsing, attach-stream demultiplexing, image tags, engine errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ponder.errors import SandboxError
from ponder.sandbox.engine import docker_client, docker_status
from ponder.sandbox.image import DEBOOTSTRAP, REGISTRY, image_tags, inputs_hash
from ponder.sandbox.mirror import debian_mirror, parse_deb822, parse_one_line
from ponder.sandbox.protocol import encode_frame
from ponder.sandbox.transport import DockerAttachTransport

DEB822 = """\
Types: deb deb-src
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
"""


def test_parse_deb822() -> None:
    sources = parse_deb822(DEB822)
    assert [s.uri for s in sources] == [
        "http://mirror.example/debian",
        "http://security.example/debian-security",
    ]
    assert sources[0].suites == ("bookworm", "bookworm-updates")
    assert sources[0].components == ("main", "contrib")


def test_parse_one_line() -> None:
    text = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://two.example/debian bookworm-security main # trailing\n"
    )
    sources = parse_one_line(text)
    assert [(s.uri, s.suites) for s in sources] == [
        ("http://one.example/debian", ("bookworm",)),
        ("http://two.example/debian", ("bookworm-security",)),
    ]


def test_debian_mirror_prefers_the_suite_itself(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "deb http://sec.example/debian-security bookworm-security main\n"
    )
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian_mirror("bookworm", tmp_path) == "http://mirror.example/debian"


def test_debian_mirror_missing_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as info:
        debian_mirror("bookworm", tmp_path)
    assert "--mirror" in (info.value.fix or "")


def _docker_frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


async def test_attach_stream_demultiplexes_stdout_frames() -> None:
    reply = encode_frame({"id": 7, "status": "ok"})
    reader = asyncio.StreamReader()
    # The reply split across frames, with stderr frames in between.
    reader.feed_data(_docker_frame(1, reply[:3]) + _docker_frame(2, b"warning\n"))
    reader.feed_data(
        _docker_frame(1, reply[3:10]) + _docker_frame(2, b"more\n") + _docker_frame(1, reply[10:])
    )
    transport = DockerAttachTransport(reader, writer=None)  # type: ignore[arg-type]
    body = await transport.recv()
    assert json.loads(body) == {"id": 7, "status": "ok"}
    assert bytes(transport.stderr_tail) == b"warning\nmore\n"
    reader.feed_eof()
    with pytest.raises(EOFError):
        await transport.recv()


def test_image_tags_depend_on_the_inputs_and_the_base() -> None:
    inputs = {"Dockerfile": b"FROM x", "runner.py": b"print(1)"}
    changed = {"Dockerfile": b"FROM x", "runner.py": b"print(2)"}
    assert inputs_hash(REGISTRY, inputs) != inputs_hash(DEBOOTSTRAP, inputs)
    assert inputs_hash(REGISTRY, inputs) != inputs_hash(REGISTRY, changed)
    assert inputs_hash(REGISTRY, inputs) == inputs_hash(REGISTRY, dict(inputs))
    tags = image_tags()
    assert set(tags) == {"registry", "debootstrap"}
    assert all(tag.startswith("ponder-sandbox:") for tag in tags.values())


def test_unreachable_engine_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(SandboxError) as info:
        docker_client(timeout_s=2)
    assert "cannot reach the Docker engine" in info.value.message
    assert "dockerd" in (info.value.fix or "")
    status = docker_status()
    assert not status.ok and "dockerd" in status.fix


def test_build_falls_back_to_debootstrap_when_the_pull_fails(monkeypatch) -> None:
    from ponder.sandbox import image

    calls: list[str] = []

    def fake_build(client, inputs, base_image, tag, base, progress, pull):
        calls.append(base.kind)
        if pull:
            raise SandboxError("cannot pull python:3.11-slim: no registry")
        return image.BuildResult(tag, True, base.key)

    monkeypatch.setattr(image, "docker_client", lambda: object())
    monkeypatch.setattr(image, "find_image", lambda client=None: None)
    monkeypatch.setattr(image, "_build", fake_build)
    monkeypatch.setattr(image, "ensure_debootstrap_base", lambda *a: "ponder-base:test")
    lines: list[str] = []
    result = image.build_image(offline=False, progress=lines.append)
    assert calls == ["registry", "debootstrap"]
    assert result.tag == image.image_tags()["debootstrap"]
    assert any("falling back to debootstrap" in line for line in lines)
    calls.clear()
    image.build_image(offline=True, progress=lines.append)
    assert calls == ["debootstrap"]  # --offline never tries the registry
