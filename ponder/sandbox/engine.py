"""Connecting to the Docker engine, with a clear error and fix when it is not there."""

from __future__ import annotations

import os
from dataclasses import dataclass

import docker

from ponder.errors import SandboxError

START_ENGINE_FIX = (
    "start dockerd (e.g. `sudo dockerd > /tmp/dockerd.log 2>&1 &` or `sudo systemctl start docker`), "
    "check `docker info`; see README, section Docker"
)


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def docker_client(timeout_s: int = 300) -> docker.DockerClient:
    """A client for the engine at $DOCKER_HOST (default socket) that has answered a ping."""
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - docker and requests raise many types here
        raise SandboxError(
            f"cannot reach the Docker engine at {engine_address()}: {exc}", fix=START_ENGINE_FIX
        ) from exc
    return client


@dataclass(frozen=True)
class EngineStatus:
    """What `ponder doctor` shows for the engine."""

    ok: bool
    version: str
    detail: str
    fix: str = ""


def docker_status() -> EngineStatus:
    try:
        client = docker_client(timeout_s=10)
        version = client.version().get("Version", "?")
    except SandboxError as exc:
        return EngineStatus(False, "", exc.message, exc.fix or START_ENGINE_FIX)
    return EngineStatus(True, version, f"Docker engine {version} at {engine_address()}")
