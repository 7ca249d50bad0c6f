"""No network inside the sandbox: only loopback, no route, and nothing reaches a host listener."""

from __future__ import annotations

import socket

import pytest

from ponder.sandbox import Limits
from tests.sandbox.conftest import assert_serves, run_json

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


async def test_only_loopback_and_no_default_route(pool) -> None:
    code = (
        "import os, json\n"
        "routes = open('/proc/net/route').read().splitlines()[1:]\n"
        "print(json.dumps({'ifaces': sorted(os.listdir('/sys/class/net')), 'routes': routes}))\n"
    )
    seen = await run_json(pool, code)
    assert seen["ifaces"] == ["lo"]
    assert seen["routes"] == []


EGRESS = """
import json, socket, sys
host, port, udp_port = sys.argv_host, sys.argv_port, sys.argv_udp
outcome = {}
try:
    socket.create_connection((host, port), timeout=2).close()
    outcome["tcp"] = "connected"
except OSError as exc:
    outcome["tcp"] = f"refused: {exc.errno}"
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"leak", (host, udp_port))
    outcome["udp"] = "sent"
except OSError as exc:
    outcome["udp"] = f"refused: {exc.errno}"
for name, family, kind, proto in [
    ("raw_icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    ("raw_tcp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
    ("packet", socket.AF_PACKET, socket.SOCK_RAW, 0),
]:
    try:
        socket.socket(family, kind, proto).close()
        outcome[name] = "opened"
    except OSError as exc:
        outcome[name] = f"refused: {exc.errno}"
print(json.dumps(outcome))
"""


async def test_egress_to_a_host_listener_fails(pool, gateway_ip: str) -> None:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind((gateway_ip, 0))
        tcp.listen(8)
        tcp.setblocking(False)
        udp.bind((gateway_ip, 0))
        udp.setblocking(False)
        prelude = (
            f"import sys\nsys.argv_host = {gateway_ip!r}\nsys.argv_port = {tcp.getsockname()[1]}\n"
            f"sys.argv_udp = {udp.getsockname()[1]}\n"
        )
        outcome = await run_json(pool, prelude + EGRESS, Limits(timeout_s=10))
        assert all(value.startswith("refused") for value in outcome.values()), outcome
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recvfrom(64)
    finally:
        tcp.close()
        udp.close()
    await assert_serves(pool)
