"""The runner's wire protocol: length-prefixed JSON frames, and Job/ExecResult <-> messages."""

from __future__ import annotations

import json
import struct
from pathlib import PurePosixPath
from typing import Any

from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job

HEADER = struct.Struct(">I")


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError(f"runner sent a {type(message).__name__}, expected an object")
    return message


def run_request(job: Job, request_id: int, cwd: str | None = None) -> dict[str, Any]:
    """The `run` message for a job; `cwd` runs it in a fixed directory (repository jobs)."""
    if job.code is None and not job.command:
        raise SandboxError(
            "Job has neither `code` nor `command`",
            fix="set Job(code=...) for Python source, or Job(files=..., command=[...])",
        )
    for name in job.files:
        parts = PurePosixPath(name).parts
        if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
            raise SandboxError(
                f"job file name {name!r} is not a relative path inside the work directory",
                fix="use relative names such as 'main.py' or 'pkg/util.py'",
            )
    message: dict[str, Any] = {
        "op": "run",
        "id": request_id,
        "files": job.files,
        "stdin": job.stdin,
        "env": job.env,
        "limits": job.limits.model_dump(),
        "cwd": cwd,
    }
    if job.judge:
        if job.code is None:
            raise SandboxError(
                "a judged Job needs `code`", fix="set Job(code=solution, judge=True)"
            )
        message.update(mode="judge", source=job.code, secret_bytes=len(job.secret.encode()))
    elif job.code is not None:
        message.update(mode="python", source=job.code)
    else:
        message.update(mode="exec", command=list(job.command))
    return message


def to_result(message: dict[str, Any]) -> ExecResult:
    """An ExecResult from the runner's answer (extra protocol keys are dropped)."""
    fields = set(ExecResult.model_fields)
    return ExecResult(**{key: value for key, value in message.items() if key in fields})
