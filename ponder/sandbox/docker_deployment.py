"""Runners in hardened, long-lived Docker containers, reached through the attach socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field, fields
from typing import Any

import docker
from docker.types import LogConfig

from ponder.errors import ConfigError, SandboxError
from ponder.sandbox.deployment import Deployment, Worker
from ponder.sandbox.engine import docker_client
from ponder.sandbox.image import BUILD_FIX, find_image
from ponder.sandbox.runtime import RunnerLost, RunnerRuntime
from ponder.sandbox.transport import DockerAttachTransport

log = logging.getLogger(__name__)

LABEL = "ponder.sandbox"
OWNER_LABEL = "ponder.sandbox.owner"
RUNNER_COMMAND = [
    "python3",
    "-I",
    "/opt/ponder/runner.py",
    "--scratch",
    "/tmp",
    "--scratch",
    "/dev/shm",
    "--scratch",
    "/dev/mqueue",  # POSIX message queues live on in the IPC namespace: wiped like files
]
UID_BASE = 10001
UID_SPREAD = 64  # slots get distinct uids so RLIMIT_NPROC (counted per uid) is per container
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ContainerSpec:
    """Resources and hardening of one sandbox container."""

    image: str
    memory_mb: int = 1536  # the container; a job's own Limits.memory_mb (RLIMIT_AS) is lower
    tmpfs_mb: int = 64
    shm_mb: int = 16
    pids_limit: int = 128
    cpus: float | None = None
    read_only: bool = True
    labels: dict[str, str] = field(default_factory=dict)


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def container_options(spec: ContainerSpec, slot: int) -> dict[str, Any]:
    """Keyword arguments for `containers.create/run`: no network, no privileges, no host anything."""
    uid = UID_BASE + slot % UID_SPREAD
    options: dict[str, Any] = {
        "image": spec.image,
        "command": RUNNER_COMMAND,
        "user": f"{uid}:{uid}",
        "stdin_open": True,
        "tty": False,
        "network_mode": "none",
        "read_only": spec.read_only,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={spec.tmpfs_mb}m,mode=1777"},
        "shm_size": f"{spec.shm_mb}m",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": spec.pids_limit,
        "mem_limit": f"{spec.memory_mb}m",
        "memswap_limit": f"{spec.memory_mb}m",
        "environment": {},
        # The runner is PID 1 itself: no docker-init whose /proc/1/fd would hand every job the
        # host's attach stream (forged answers); non-dumpable, its fds are closed to jobs, and
        # signals a job sends it without a handler (SIGKILL, SIGSTOP) are ignored. Its sweep
        # after each job reaps orphans.
        "init": False,
        "ipc_mode": "private",
        "hostname": "sandbox",
        "working_dir": "/tmp",
        "log_config": LogConfig(type=LogConfig.types.NONE),
        "labels": {LABEL: "1", OWNER_LABEL: owner(), **spec.labels},
    }
    if spec.cpus:
        options["nano_cpus"] = int(spec.cpus * 1e9)
    return options


async def attach_runner(client: docker.DockerClient, container: Any) -> tuple[RunnerRuntime, Any]:
    """A runtime over the container's attached stdin/stdout; the runner has answered a ping.

    Returns the runtime and the SDK socket object, which must stay referenced while in use.
    """

    def open_socket() -> Any:
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        return client.api.attach_socket(container.id, params=params)

    sdk_socket = await asyncio.to_thread(open_socket)
    raw = getattr(sdk_socket, "_sock", sdk_socket)
    raw.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=raw)
    runtime = RunnerRuntime(DockerAttachTransport(reader, writer))
    try:
        await runtime.ping(READY_TIMEOUT_S)
    except RunnerLost as exc:
        await runtime.close()
        raise SandboxError(
            f"the sandbox runner in container {container.short_id} did not start: {exc}",
            fix=f"rebuild the image: {BUILD_FIX} --force; inspect with `docker logs {container.short_id}`",
        ) from exc
    return runtime, sdk_socket


def remove_container(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        log.warning("could not remove sandbox container %s: %s", container.short_id, exc)


def remove_stale(client: docker.DockerClient) -> int:
    """Remove sandbox containers left by processes on this host that no longer run."""
    host = socket.gethostname()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        owner_host, _, pid = container.labels.get(OWNER_LABEL, ":").rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            remove_container(container)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DockerDeployment(Deployment):
    """Each runner lives in its own long-lived, hardened container."""

    name = "docker"
    isolated = True

    def __init__(self, image: str | None = None, **spec: Any) -> None:
        known = {item.name for item in fields(ContainerSpec)} - {"image"}
        if unknown := sorted(set(spec) - known):
            raise ConfigError(
                f"unknown docker sandbox option(s) {', '.join(unknown)}",
                fix=f"use only: {', '.join(sorted(known))}",
            )
        self._image = image
        self._spec_options = spec
        self.client: docker.DockerClient | None = None
        self.spec: ContainerSpec | None = None

    def describe(self) -> str:
        if self.spec is not None:
            return f"docker:{self.spec.image}"
        try:
            return f"docker:{self._image or find_image() or 'no image built'}"
        except SandboxError:
            return "docker:engine unreachable"

    async def start(self) -> None:
        self.client = await asyncio.to_thread(docker_client)
        image = self._image or await asyncio.to_thread(find_image, self.client)
        if image is None:
            raise SandboxError(
                "the sandbox image is not built for this checkout",
                fix=f"ponder sandbox build   (no registry here: {BUILD_FIX})",
            )
        self.spec = ContainerSpec(image=image, **self._spec_options)
        removed = await asyncio.to_thread(remove_stale, self.client)
        if removed:
            log.info("removed %d stale sandbox containers", removed)

    async def spawn(self, slot: int) -> Worker:
        if self.client is None or self.spec is None:
            raise SandboxError("DockerDeployment.spawn before start", fix="await sandbox.start()")
        client, options = self.client, container_options(self.spec, slot)
        try:
            container = await asyncio.to_thread(
                lambda: client.containers.run(detach=True, **options)
            )
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(
                f"sandbox image {self.spec.image} not found",
                fix=f"ponder sandbox build ({BUILD_FIX})",
            ) from exc
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"cannot start a sandbox container from {self.spec.image}: {exc.explanation or exc}",
                fix="check `docker info`; see README, section Docker",
            ) from exc
        try:
            runtime, sdk_socket = await attach_runner(client, container)
        except BaseException:
            await asyncio.to_thread(remove_container, container)
            raise
        return Worker(f"docker:{container.short_id}", runtime, (container, sdk_socket))

    async def destroy(self, worker: Worker) -> None:
        container, _ = worker.handle
        with contextlib.suppress(Exception):
            await worker.runtime.close()
        await asyncio.to_thread(remove_container, container)

    async def stop(self) -> None:
        if self.client is not None:
            await asyncio.to_thread(self.client.close)
            self.client = None
