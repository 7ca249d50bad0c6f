"""`open_sandbox(kind)`: the registry of sandbox kinds (docker pool, local processes, plug-ins).

Add a kind with `register_sandbox(name, factory)` (or as a decorator), or from a package with
an entry point naming a factory that returns an unstarted Sandbox:

    [project.entry-points."ponder.sandboxes"]
    mykind = "mypkg.sandbox:open_mykind"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ponder.errors import ConfigError
from ponder.plugins import Registry
from ponder.sandbox.base import Sandbox
from ponder.sandbox.docker_deployment import DockerDeployment
from ponder.sandbox.local import LocalDeployment, LocalSandbox
from ponder.sandbox.pool import PooledSandbox

ENTRY_POINT_GROUP = "ponder.sandboxes"
SandboxFactory = Callable[..., Sandbox]
F = TypeVar("F", bound=SandboxFactory)

SANDBOXES: Registry[SandboxFactory] = Registry("sandbox kind", ENTRY_POINT_GROUP)
SANDBOX_KINDS: Mapping[str, SandboxFactory] = MappingProxyType(SANDBOXES.entries)
"""Sandbox kinds registered so far (built-ins, `register_sandbox`, loaded plug-ins), read-only."""


def register_sandbox(name: str, factory: F | None = None) -> F | Callable[[F], F]:
    """Make `factory(**options)` the sandbox kind `name`; without `factory`, a decorator."""
    return SANDBOXES.register(name, factory)


@register_sandbox("docker")
def open_docker(pool_size: int | None = None, image: str | None = None, **spec: Any) -> Sandbox:
    """A pool of hardened containers; `spec` sets ContainerSpec fields (memory_mb, tmpfs_mb, ...)."""
    return PooledSandbox(DockerDeployment(image=image, **spec), pool_size)


@register_sandbox("local")
def open_local(pool_size: int | None = None, python: str | None = None) -> Sandbox:
    """Host subprocesses with rlimits; NOT isolated, for machines without Docker."""
    return LocalSandbox(LocalDeployment(python=python), pool_size)


def open_sandbox(kind: str = "docker", **options: Any) -> Sandbox:
    """An unstarted Sandbox of `kind`; use `async with` (or it starts on the first run)."""
    factory = SANDBOXES.get(kind)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(
            f"bad option for sandbox kind {kind!r}: {exc}", fix="see open_sandbox's docstring"
        ) from exc
