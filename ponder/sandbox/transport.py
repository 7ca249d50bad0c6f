"""Byte channels to a runner: plain pipes (local) and Docker's multiplexed attach stream."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from ponder.sandbox.protocol import HEADER

MAX_FRAME = 256 * 1024 * 1024  # a longer answer means the runner is broken (or subverted)
DOCKER_FRAME = 8  # attach stream header: stream id (1 byte), 3 zero bytes, big-endian length
STDOUT = 1


class Transport(ABC):
    """Sends request frames and receives response frames (the length prefix included)."""

    @abstractmethod
    async def send(self, frame: bytes) -> None: ...

    @abstractmethod
    async def _read(self, n: int) -> bytes:
        """Exactly n bytes of the runner's stdout; raises EOFError when it has gone."""

    async def recv(self) -> bytes:
        (size,) = HEADER.unpack(await self._read(HEADER.size))
        if size > MAX_FRAME:
            raise EOFError(f"runner announced a {size}-byte answer (limit {MAX_FRAME})")
        return await self._read(size)

    async def recv_raw(self, n: int) -> bytes:
        """The n raw bytes that follow a frame (a judged job's report)."""
        return await self._read(n)

    @abstractmethod
    async def close(self) -> None: ...


class StreamTransport(Transport):
    """The runner's stdin/stdout as an asyncio stream pair (subprocess pipes)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, frame: bytes) -> None:
        try:
            self.writer.write(frame)
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise EOFError(f"runner input closed: {exc}") from exc

    async def _read(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EOFError("runner output closed") from exc

    async def close(self) -> None:
        self.writer.close()


class DockerAttachTransport(StreamTransport):
    """A hijacked `/containers/{id}/attach` socket: stdout/stderr arrive in 8-byte-headed frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.stdout = bytearray()
        self.stderr_tail = bytearray()

    async def _read(self, n: int) -> bytes:
        while len(self.stdout) < n:
            header = await super()._read(DOCKER_FRAME)
            chunk = await super()._read(int.from_bytes(header[4:8], "big"))
            if header[0] == STDOUT:
                self.stdout += chunk
            else:
                self.stderr_tail = (self.stderr_tail + chunk)[-4096:]
        data = bytes(self.stdout[:n])
        del self.stdout[:n]
        return data
