"""`open_sandbox(kind)`: the registry of sandbox kinds (docker pool, local processes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ponder.errors import ConfigError
from ponder.sandbox.base import Sandbox
from ponder.sandbox.docker_deployment import DockerDeployment
from ponder.sandbox.local import LocalDeployment, LocalSandbox
from ponder.sandbox.pool import PooledSandbox


def open_docker(pool_size: int | None = None, image: str | None = None, **spec: Any) -> Sandbox:
    """A pool of hardened containers; `spec` sets ContainerSpec fields (memory_mb, tmpfs_mb, ...)."""
    return PooledSandbox(DockerDeployment(image=image, **spec), pool_size)


def open_local(pool_size: int | None = None, python: str | None = None) -> Sandbox:
    """Host subprocesses with rlimits; NOT isolated, for machines without Docker."""
    return LocalSandbox(LocalDeployment(python=python), pool_size)


SANDBOX_KINDS: Mapping[str, Callable[..., Sandbox]] = MappingProxyType(
    {"docker": open_docker, "local": open_local}
)


def open_sandbox(kind: str = "docker", **options: Any) -> Sandbox:
    """An unstarted Sandbox of `kind`; use `async with` (or it starts on the first run)."""
    try:
        factory = SANDBOX_KINDS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown sandbox kind {kind!r}",
            fix=f"use one of: {', '.join(SANDBOX_KINDS)} (e.g. --sandbox docker)",
        ) from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(
            f"bad option for sandbox kind {kind!r}: {exc}", fix="see open_sandbox's docstring"
        ) from exc
