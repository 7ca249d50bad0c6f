"""Runners in hardened, long-lived Docker containers, reached through the attach socket."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
import logging
import os
import socket
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

import docker
from docker.types import LogConfig

from ponder.errors import ConfigError, SandboxError
from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.deployment import Deployment, Worker, check_extra_dirs
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
WORKDIR = "/work"  # where a tree run's copy lives; its extra directories go beside it, in /
TREE_MEMORY_MB = 2048  # a tree run's container (a test suite), at least
TREE_TMPFS_MB = 256
# Top-level directories of the image an extra directory must not land on.
RESERVED_DIRS = frozenset(
    [
        "bin",
        "boot",
        "dev",
        "etc",
        "home",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "media",
        "mnt",
        "opt",
        "proc",
        "root",
        "run",
        "sbin",
        "srv",
        "sys",
        "tmp",
        "usr",
        "var",
        "work",
    ]
)


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


def tar_tree(tree: Path, uid: int, root_owned: Callable[[str], bool] | None = None) -> bytes:
    """The tree as a tar whose files belong to the container's user, except those `root_owned`
    picks, which belong to root and are read-only.

    The directories above such a file belong to root too: sealed (read-only) when `root_owned`
    answers True for the directory path with a trailing slash, else sticky and world-writable
    (the job may add files but cannot remove, rename or replace root's).
    """
    keep = {rel for rel in _tree_files(tree) if root_owned is not None and root_owned(rel)}
    keep_dirs = {p.as_posix() for rel in keep for p in PurePosixPath(rel).parents}

    def own(info: tarfile.TarInfo) -> tarfile.TarInfo:
        name = info.name.removeprefix("./") or "."
        if name in keep or name in keep_dirs:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if not info.isdir():
                info.mode &= 0o555
            elif root_owned is not None and root_owned(name + "/"):
                info.mode = 0o555
            else:
                info.mode = 0o1777
        else:
            info.uid = info.gid = uid
            info.uname = info.gname = "sandbox"
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if "." in keep_dirs:
            tar.add(tree, arcname=".", recursive=False, filter=own)
        for child in sorted(tree.iterdir()):
            tar.add(child, arcname=child.name, filter=own)
    return buffer.getvalue()


def _tree_files(tree: Path) -> list[str]:
    return [p.relative_to(tree).as_posix() for p in tree.rglob("*") if not p.is_dir()]


def tar_files(directory: str, files: dict[str, str]) -> bytes:
    """`files` under `directory` (relative to /), root-owned and read-only."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        top = tarfile.TarInfo(directory.strip("/"))
        top.type, top.mode = tarfile.DIRTYPE, 0o555
        tar.addfile(top)
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{directory.strip('/')}/{name}")
            info.size, info.mode = len(data), 0o444
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


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
        self._tree_slots = itertools.count()

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

    async def run_in_tree(
        self,
        job: Job,
        tree: Path,
        *,
        root_owned: Callable[[str], bool] | None = None,
        extra_dirs: dict[str, dict[str, str]] | None = None,
    ) -> ExecResult:
        """A fresh container (writable root, no network, the pool's hardening): `tree` goes to
        /work owned by the job's user except the `root_owned` paths (root's, read-only; see
        `tar_tree`), each extra directory to /NAME (root's, read-only); the runner runs the job
        with cwd /work, and the container is removed after."""
        if self.client is None or self.spec is None:
            raise SandboxError(
                "DockerDeployment.run_in_tree before start", fix="await sandbox.start()"
            )
        extra = check_extra_dirs(extra_dirs)
        if clash := sorted(set(extra) & RESERVED_DIRS):
            raise SandboxError(
                f"extra directory /{clash[0]} would replace a directory of the image",
                fix="pick another name (e.g. with a random suffix)",
            )
        spec = dataclasses.replace(
            self.spec,
            read_only=False,  # put_archive writes /work and the extra directories
            memory_mb=max(self.spec.memory_mb, TREE_MEMORY_MB),
            tmpfs_mb=max(self.spec.tmpfs_mb, TREE_TMPFS_MB),
        )
        slot = next(self._tree_slots)
        options = container_options(spec, slot)
        uid = UID_BASE + slot % UID_SPREAD
        client = self.client
        archive = await asyncio.to_thread(tar_tree, tree, uid, root_owned)
        try:
            container = await asyncio.to_thread(lambda: client.containers.create(**options))
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"cannot create a container from {spec.image}: {exc.explanation or exc}",
                fix="check `docker info`; see README, section Docker",
            ) from exc
        runtime = None
        try:
            if not await asyncio.to_thread(container.put_archive, WORKDIR, archive):
                raise SandboxError(f"put_archive to {WORKDIR} failed", fix="check `docker info`")
            for name, files in extra.items():
                data = tar_files(name, files)
                if not await asyncio.to_thread(container.put_archive, "/", data):
                    raise SandboxError(f"put_archive of /{name} failed", fix="check `docker info`")
            await asyncio.to_thread(container.start)
            runtime, _sdk_socket = await attach_runner(client, container)
            try:
                return (await runtime.execute(job, cwd=WORKDIR)).result
            except RunnerLost as exc:
                return ExecResult(
                    status="sandbox_error", note=f"the tree's container was lost: {exc}"
                )
        finally:
            if runtime is not None:
                await runtime.close()
            await asyncio.to_thread(remove_container, container)

    async def stop(self) -> None:
        if self.client is not None:
            await asyncio.to_thread(self.client.close)
            self.client = None
