"""The sandbox image: build it (registry base or offline debootstrap base), name it, check it."""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import docker

from ponder.errors import SandboxError
from ponder.sandbox.engine import EngineStatus, docker_client, docker_status
from ponder.sandbox.mirror import debian_mirror

log = logging.getLogger(__name__)

IMAGE_REPO = "ponder-sandbox"
BASE_REPO = "ponder-base"
REGISTRY_BASE = "python:3.11-slim"
SUITE = "bookworm"
# sympy: program-aided math (PAL, PoT) on MATH-style tasks computes exactly with it.
DEBOOTSTRAP_PACKAGES = ("python3", "python3-pytest", "python3-sympy")
BUILD_FIX = "ponder sandbox build --offline"

__all__ = [
    "BuildResult",
    "EngineStatus",
    "ImageStatus",
    "build_image",
    "docker_status",
    "find_image",
    "image_status",
    "image_tags",
]


@dataclass(frozen=True)
class BaseChoice:
    """Where the image's root file system comes from."""

    kind: str  # "registry" or "debootstrap"
    spec: str  # the registry image, or "suite:pkg,pkg"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.spec}"


REGISTRY = BaseChoice("registry", REGISTRY_BASE)
DEBOOTSTRAP = BaseChoice("debootstrap", f"{SUITE}:{','.join(DEBOOTSTRAP_PACKAGES)}")


def build_inputs() -> dict[str, bytes]:
    """The files that go into the build context (package data beside this module)."""
    here = resources.files("ponder.sandbox")
    names = ("Dockerfile", "runner.py", "judge.py", "codec.py")
    return {name: here.joinpath(name).read_bytes() for name in names}


def inputs_hash(base: BaseChoice, inputs: dict[str, bytes] | None = None) -> str:
    digest = hashlib.sha256(base.key.encode())
    for name, data in sorted((inputs or build_inputs()).items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def image_tags(inputs: dict[str, bytes] | None = None) -> dict[str, str]:
    """The tag each base choice produces for the current Dockerfile and runner."""
    inputs = inputs or build_inputs()
    return {
        base.kind: f"{IMAGE_REPO}:{inputs_hash(base, inputs)}" for base in (REGISTRY, DEBOOTSTRAP)
    }


def base_tag() -> str:
    return f"{BASE_REPO}:{hashlib.sha256(DEBOOTSTRAP.key.encode()).hexdigest()[:16]}"


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def find_image(client: docker.DockerClient | None = None) -> str | None:
    """The current sandbox image's tag if either variant is built, else None."""
    client = client or docker_client()
    return next((tag for tag in image_tags().values() if _exists(client, tag)), None)


@dataclass(frozen=True)
class ImageStatus:
    """What `ponder doctor` shows for the image."""

    ok: bool
    expected: tuple[str, ...]
    present: str | None
    detail: str
    fix: str = ""


def image_status() -> ImageStatus:
    expected = tuple(image_tags().values())
    try:
        present = find_image()
    except SandboxError as exc:
        return ImageStatus(
            False, expected, None, f"engine unreachable: {exc.message}", exc.fix or ""
        )
    if present:
        return ImageStatus(True, expected, present, f"{present} (inputs match this checkout)")
    return ImageStatus(
        False,
        expected,
        None,
        f"no sandbox image for this checkout (expected one of {', '.join(expected)})",
        f"ponder sandbox build   (no registry: {BUILD_FIX})",
    )


@dataclass(frozen=True)
class BuildResult:
    tag: str
    built: bool
    base: str


Progress = Callable[[str], None]


def build_image(
    offline: bool = False,
    force: bool = False,
    mirror: str | None = None,
    progress: Progress = log.info,
) -> BuildResult:
    """Build the sandbox image unless a tag for the current inputs exists (or `force`).

    Online: `FROM python:3.11-slim`. Offline, or when that pull fails: debootstrap a minimal
    Debian, `docker import` it and layer the same Dockerfile on it.
    """
    client = docker_client()
    inputs = build_inputs()  # one snapshot: the tag names exactly what goes into the context
    tags = image_tags(inputs)
    with build_lock():  # concurrent builds (two test sessions) wait for one another
        if not force and (present := find_image(client)):
            progress(f"{present} is up to date; nothing to build (--force rebuilds)")
            return BuildResult(present, False, "existing")
        if not offline:
            try:
                return _build(
                    client, inputs, REGISTRY_BASE, tags[REGISTRY.kind], REGISTRY, progress, True
                )
            except SandboxError as exc:
                progress(f"registry build failed ({exc.message}); falling back to debootstrap")
        base = ensure_debootstrap_base(client, mirror, force, progress)
        return _build(client, inputs, base, tags[DEBOOTSTRAP.kind], DEBOOTSTRAP, progress, False)


@contextmanager
def build_lock() -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / "ponder-sandbox-build.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _context(inputs: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in inputs.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _build(
    client: docker.DockerClient,
    inputs: dict[str, bytes],
    base_image: str,
    tag: str,
    base: BaseChoice,
    progress: Progress,
    pull: bool,
) -> BuildResult:
    if pull:
        try:
            client.images.pull(base_image)
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot pull {base_image}: {exc.explanation or exc}") from exc
    progress(f"building {tag} on {base_image}")
    stream = client.api.build(
        fileobj=_context(inputs),
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base_image},
        labels={"ponder.sandbox.inputs": tag.split(":")[1], "ponder.sandbox.base": base.key},
        rm=True,
        forcerm=True,
        network_mode="default" if pull else "none",
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise SandboxError(
                f"docker build of {tag} failed: {chunk['error'].strip()}",
                fix=f"rerun with --force; if the base is broken: {BUILD_FIX} --force",
            )
        if chunk.get("stream", "").strip():
            progress(chunk["stream"].rstrip())
    image = client.images.get(tag)
    image.tag(IMAGE_REPO, "latest")
    progress(f"built {tag} (also tagged {IMAGE_REPO}:latest)")
    removed = prune_old_tags(
        client, keep={tag, f"{IMAGE_REPO}:latest", *image_tags(inputs).values()}
    )
    if removed:
        progress(f"removed {len(removed)} outdated tags: {', '.join(removed)}")
    return BuildResult(tag, True, base.key)


def prune_old_tags(client: docker.DockerClient, keep: set[str]) -> list[str]:
    """Untag older sandbox images (best effort: images still used by containers stay)."""
    removed = []
    for image in client.images.list(name=IMAGE_REPO):
        for old in set(image.tags) - keep:
            try:
                client.images.remove(old, noprune=False)
            except docker.errors.APIError:
                continue
            removed.append(old)
    return removed


def ensure_debootstrap_base(
    client: docker.DockerClient, mirror: str | None, force: bool, progress: Progress
) -> str:
    """`debootstrap --variant=minbase` a Debian root, `docker import` it; reuse it if present."""
    tag = base_tag()
    if _exists(client, tag) and not force:
        progress(f"base {tag} present")
        return tag
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "debootstrap is not installed; it builds the offline base image",
            fix="sudo apt-get install -y debootstrap",
        )
    if os.geteuid() != 0:
        raise SandboxError(
            "debootstrap needs root to build the offline base image",
            fix=f"sudo {BUILD_FIX}  (or build where a registry is reachable: ponder sandbox build)",
        )
    mirror = mirror or debian_mirror(SUITE)
    root = Path(tempfile.mkdtemp(prefix="ponder-rootfs-", dir="/var/tmp"))
    try:
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(DEBOOTSTRAP_PACKAGES)}",
            SUITE,
            str(root),
            mirror,
        ]
        progress(" ".join(command))
        _run(command, "debootstrap")
        progress(f"importing {root} as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        try:
            _run(["docker", "import", "-", tag], "docker import", stdin=tar.stdout)
        finally:
            tar.stdout.close()  # type: ignore[union-attr]
            tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tag


def _run(command: list[str], what: str, stdin=None) -> None:
    done = subprocess.run(command, stdin=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise SandboxError(
            f"{what} failed (exit {done.returncode}): {tail}",
            fix="check the mirror (--mirror URL) and disk space, then rerun with --force",
        )
