"""How jobs are sent to a runner and answered, whatever deployment hosts it."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.protocol import decode_body, encode_frame, run_request, to_result
from ponder.sandbox.transport import Transport

# Slack on top of a job's own wall timeout before the host gives up on the runner.
PROTOCOL_SLACK_S = 10.0
MAX_REPORT = 16 * 1024 * 1024  # the runner caps a judge's report at this size


class RunnerLost(Exception):
    """The runner died, closed its stream, sent garbage, or stopped answering."""


@dataclass(frozen=True)
class Answer:
    """A job's result, and whether the runner asks to be replaced (leftovers it could not clear)."""

    result: ExecResult
    dirty: bool


class RunnerRuntime:
    """One runner behind a transport; serves one request at a time."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._ids = itertools.count(1)

    async def _call(self, message: dict, timeout_s: float, secret: bytes = b"") -> dict:
        """Send a request (and its secret part), read the answer (and its report part)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.transport.send(encode_frame(message) + secret)
                answer = decode_body(await self.transport.recv())
                size = answer.get("report_bytes") or 0
                if not isinstance(size, int) or not 0 <= size <= MAX_REPORT:
                    raise ValueError(f"runner announced a report of {size!r} bytes")
                report = await self.transport.recv_raw(size) if size else b""
        except TimeoutError as exc:
            raise RunnerLost(f"no answer within {timeout_s:.1f} s") from exc
        except (EOFError, ValueError) as exc:
            raise RunnerLost(str(exc) or type(exc).__name__) from exc
        if answer.get("id") != message["id"]:
            raise RunnerLost(f"answer id {answer.get('id')!r} != request id {message['id']!r}")
        answer["report"] = report.decode("utf-8", errors="replace")
        return answer

    async def ping(self, timeout_s: float = 30.0) -> dict:
        return await self._call({"op": "ping", "id": next(self._ids)}, timeout_s)

    async def execute(self, job: Job, cwd: str | None = None) -> Answer:
        message = run_request(job, next(self._ids), cwd)
        secret = job.secret.encode() if job.judge else b""
        answer = await self._call(message, job.limits.timeout_s + PROTOCOL_SLACK_S, secret)
        return Answer(to_result(answer), dirty=bool(answer.get("dirty")))

    async def close(self) -> None:
        await self.transport.close()
