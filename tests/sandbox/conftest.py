"""Shared sandbox fixtures: the image (built offline if missing) and warm pools reused by the tests."""

from __future__ import annotations

import fcntl
import ipaddress
import json
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import docker
import pytest
import pytest_asyncio

from ponder.errors import SandboxError
from ponder.sandbox import ExecResult, Job, Limits, Sandbox, open_sandbox
from ponder.sandbox.engine import docker_client
from ponder.sandbox.image import build_image, find_image

SIOCGIFADDR = 0x8915


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        return docker_client(timeout_s=60)
    except SandboxError as exc:
        pytest.fail(f"{exc.message}\nfix: {exc.fix}  (or deselect with -m 'not docker')")


@pytest.fixture(scope="session")
def sandbox_image(engine: docker.DockerClient) -> str:
    """The image for this checkout; builds it offline (debootstrap) when missing."""
    return find_image(engine) or build_image(offline=True).tag


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(sandbox_image: str) -> AsyncIterator[Sandbox]:
    """A warm two-container pool shared by the docker tests."""
    async with open_sandbox("docker", pool_size=2, image=sandbox_image) as sandbox:
        yield sandbox


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def single(sandbox_image: str) -> AsyncIterator[Sandbox]:
    """A one-container pool: consecutive jobs land in the same container."""
    async with open_sandbox("docker", pool_size=1, image=sandbox_image) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def gateway_ip(engine: docker.DockerClient) -> str:
    """The Docker bridge gateway (docker0) address on this host, read from the engine.

    The default bridge often lists only its subnet: then the address of the bridge interface
    the engine names (com.docker.network.bridge.name) is the gateway.
    """
    attrs = engine.networks.get("bridge").attrs
    for entry in attrs["IPAM"]["Config"] or []:
        if entry.get("Gateway"):
            return entry["Gateway"]
    name = attrs.get("Options", {}).get("com.docker.network.bridge.name", "docker0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", name.encode()[:15])
        address = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24]
    gateway = socket.inet_ntoa(address)
    subnet = ipaddress.ip_network(attrs["IPAM"]["Config"][0]["Subnet"])
    assert ipaddress.ip_address(gateway) in subnet, (gateway, subnet)
    return gateway


async def run_ok(sandbox: Sandbox, code: str, limits: Limits | None = None) -> ExecResult:
    """Run `code` as a job that must finish with status ok; its result."""
    result = await sandbox.run(Job(code=code, limits=limits or Limits()))
    assert result.status == "ok", result
    return result


async def run_json(sandbox: Sandbox, code: str, limits: Limits | None = None) -> Any:
    """Run `code`, which prints one JSON value, as a job that must finish ok; the value."""
    return json.loads((await run_ok(sandbox, code, limits)).stdout)


async def assert_serves(sandbox: Sandbox, times: int = 3) -> None:
    """After an attack: ordinary jobs still come back correct (on every container of the pool)."""
    for _ in range(times):
        result = await sandbox.run(Job(code="print(sum(range(10)))"))
        assert result.status == "ok", result
        assert result.stdout == "45\n"
        assert not result.retried
