"""Repository jobs: patch a copy of a repository, run a command in a fresh container, diff, discard."""

from __future__ import annotations

import asyncio
import difflib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import docker
from pydantic import BaseModel, Field

from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job, Limits
from ponder.sandbox.docker_deployment import (
    UID_BASE,
    ContainerSpec,
    attach_runner,
    container_options,
    remove_container,
)
from ponder.sandbox.engine import docker_client
from ponder.sandbox.image import BUILD_FIX, find_image
from ponder.sandbox.repo_cache import IGNORED, RepoCache, repo_state_hash, result_key
from ponder.sandbox.runtime import RunnerLost

WORKDIR = "/work"
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
MAX_DIFF_CHARS = 1_000_000


class RepoResult(BaseModel):
    """A repository job: the command's result, and how the tree differs from the original."""

    result: ExecResult
    patch_applied: bool = True
    changed_files: list[str] = Field(default_factory=list)  # vs the original repository
    diff: str = ""  # unified diff, original -> after patch and command
    cached: bool = False
    key: str = ""


async def run_repo_job(
    repo_dir: str | Path,
    command: str | list[str],
    patch: str | None = None,
    limits: Limits | None = None,
    *,
    image: str | None = None,
    use_cache: bool = True,
    cache: RepoCache | None = None,
    memory_mb: int = 2048,
    stdin: str = "",
    extra_dirs: dict[str, dict[str, str]] | None = None,
    root_owned: Callable[[str], bool] | None = None,
) -> RepoResult:
    """Run `command` (a list, or a string for `sh -c`) on `repo_dir` + `patch` in a fresh container.

    `extra_dirs` (absolute directory -> {name: text}) go into the container outside /work,
    root-owned and read-only; repository paths for which `root_owned` answers True are root-owned
    and read-only too (the job's user can neither change nor replace them). `stdin` feeds the
    command. The same (repository state, patch, command, image) is answered from the cache
    (pass use_cache=False when stdin or extra_dirs carry a secret).
    """
    repo = Path(repo_dir).resolve()
    if not repo.is_dir():
        raise SandboxError(
            f"repository {repo_dir} is not a directory", fix="pass the repository root"
        )
    argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
    limits = limits or Limits()
    client = await asyncio.to_thread(docker_client)
    image = image or await asyncio.to_thread(find_image, client)
    if image is None:
        raise SandboxError(
            "the sandbox image is not built", fix=f"ponder sandbox build ({BUILD_FIX})"
        )
    key = result_key(await asyncio.to_thread(repo_state_hash, repo), patch, argv, image)
    store = (cache or RepoCache()) if use_cache else None
    if store and (hit := store.get(key)):
        return RepoResult.model_validate_json(hit).model_copy(update={"cached": True})
    with tempfile.TemporaryDirectory(prefix="ponder-repo-") as tmp:
        copy = Path(tmp) / "work"
        await asyncio.to_thread(copy_repo, repo, copy)
        applied, apply_log = (
            await asyncio.to_thread(apply_patch, copy, patch) if patch else (True, "")
        )
        if not applied:
            result = ExecResult(
                status="error", exit_code=None, stderr=apply_log, note="patch did not apply"
            )
            outcome = RepoResult(result=result, patch_applied=False, key=key)
        else:
            spec = ContainerSpec(image=image, memory_mb=memory_mb, read_only=False, tmpfs_mb=256)
            after = Path(tmp) / "after"
            result = await run_in_container(
                client, spec, copy, argv, limits, after, stdin, extra_dirs or {}, root_owned
            )
            changed, diff = compare_trees(repo, after / "work")
            outcome = RepoResult(result=result, changed_files=changed, diff=diff, key=key)
    if store and outcome.result.status != "sandbox_error":
        store.put(key, outcome.model_dump_json())
    return outcome


def copy_repo(repo: Path, dest: Path) -> None:
    shutil.copytree(repo, dest, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))


def apply_patch(tree: Path, patch: str) -> tuple[bool, str]:
    """Apply a unified diff to `tree` with `git apply` (or `patch -p1`); (applied?, log)."""
    if shutil.which("git"):
        command = ["git", "apply", "--whitespace=nowarn", "-"]
    elif shutil.which("patch"):
        command = ["patch", "-p1", "--batch", "--forward"]
    else:
        raise SandboxError(
            "neither git nor patch is installed on the host", fix="apt-get install git"
        )
    done = subprocess.run(command, cwd=tree, input=patch, capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


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


async def run_in_container(
    client: docker.DockerClient,
    spec: ContainerSpec,
    tree: Path,
    argv: list[str],
    limits: Limits,
    out: Path,
    stdin: str = "",
    extra_dirs: dict[str, dict[str, str]] | None = None,
    root_owned: Callable[[str], bool] | None = None,
) -> ExecResult:
    """Fresh container: put_archive the tree to /work, run, get_archive /work into `out`, remove."""
    options = container_options(spec, slot=0)
    archive = await asyncio.to_thread(tar_tree, tree, UID_BASE, root_owned)
    container = await asyncio.to_thread(lambda: client.containers.create(**options))
    runtime = None
    try:
        if not await asyncio.to_thread(container.put_archive, WORKDIR, archive):
            raise SandboxError(f"put_archive to {WORKDIR} failed", fix="check `docker info`")
        for directory, files in (extra_dirs or {}).items():
            if not await asyncio.to_thread(container.put_archive, "/", tar_files(directory, files)):
                raise SandboxError(f"put_archive of {directory} failed", fix="check `docker info`")
        await asyncio.to_thread(container.start)
        runtime, _sdk_socket = await attach_runner(client, container)
        try:
            job = Job(command=argv, limits=limits, stdin=stdin)
            answer = await runtime.execute(job, cwd=WORKDIR)
            result = answer.result
        except RunnerLost as exc:
            result = ExecResult(status="sandbox_error", note=f"repository container lost: {exc}")
        await asyncio.to_thread(fetch_tree, container, out)
        return result
    finally:
        if runtime is not None:
            await runtime.close()
        await asyncio.to_thread(remove_container, container)


def fetch_tree(container: Any, out: Path) -> None:
    """get_archive /work from the container and unpack it safely (tar `data` filter) under `out`."""
    stream, _ = container.get_archive(WORKDIR)
    buffer = io.BytesIO()
    for chunk in stream:
        buffer.write(chunk)
        if buffer.tell() > MAX_ARCHIVE_BYTES:
            raise SandboxError(
                f"the job left more than {MAX_ARCHIVE_BYTES >> 20} MB in {WORKDIR}",
                fix="lower Limits.file_size_mb or make the command write less",
            )
    buffer.seek(0)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=buffer) as tar:
        tar.extractall(out, filter="data")


def _files(tree: Path) -> dict[str, Path]:
    found = {}
    for path in tree.rglob("*"):
        rel = path.relative_to(tree)
        if any(part in IGNORED for part in rel.parts) or path.is_dir():
            continue
        found[rel.as_posix()] = path
    return found


def _read(path: Path | None) -> bytes:
    if path is None or path.is_symlink():
        return b"" if path is None else b"link:" + str(path.readlink()).encode()
    return path.read_bytes()


def compare_trees(before: Path, after: Path) -> tuple[list[str], str]:
    """(changed paths, unified diff) from `before` to `after`, caches ignored."""
    old, new = _files(before), _files(after)
    changed, chunks = [], []
    for rel in sorted(old.keys() | new.keys()):
        a, b = _read(old.get(rel)), _read(new.get(rel))
        if a == b and (rel in old) == (rel in new):
            continue
        changed.append(rel)
        try:
            a_lines = a.decode().splitlines(keepends=True)
            b_lines = b.decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            chunks.append(f"Binary files a/{rel} and b/{rel} differ\n")
            continue
        from_name = f"a/{rel}" if rel in old else "/dev/null"
        to_name = f"b/{rel}" if rel in new else "/dev/null"
        chunks.extend(difflib.unified_diff(a_lines, b_lines, from_name, to_name))
    diff = "".join(chunks)
    if len(diff) > MAX_DIFF_CHARS:
        diff = (
            diff[:MAX_DIFF_CHARS] + f"\n[... diff truncated: {len(diff) - MAX_DIFF_CHARS} chars]\n"
        )
    return changed, diff
