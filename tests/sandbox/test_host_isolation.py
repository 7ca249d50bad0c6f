"""The sandbox sees neither the host's files nor its environment, and runs unprivileged."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest

from ponder.sandbox import open_sandbox
from ponder.sandbox.docker_deployment import LABEL, OWNER_LABEL, owner
from tests.sandbox.conftest import assert_serves, run_json

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]  # this checkout, wherever it was cloned

SCAN = r"""
import glob, json, os, subprocess, sys
token = sys.argv_token
hits = []
for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):
    try:
        if token.encode() in open(path, 'rb').read():
            hits.append(path)
    except OSError:
        pass
for root in ('/tmp', '/etc', '/opt', '/work', '/dev/shm', '/run', '/var', '/root', '/home'):
    for base, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(base, name)
            try:
                if token.encode() in open(path, 'rb').read(1 << 20):
                    hits.append(path)
            except OSError:
                pass
env_cmd = subprocess.run(['env'], capture_output=True, text=True).stdout
if token in env_cmd or token in repr(dict(os.environ)):
    hits.append('environ')
print(json.dumps({'hits': hits, 'env_keys': sorted(os.environ), 'env_cmd_lines': len(env_cmd.splitlines())}))
"""


async def test_host_environment_never_reaches_the_sandbox(
    sandbox_image, engine, monkeypatch
) -> None:
    token = secrets.token_hex(16)
    monkeypatch.setenv("PONDER_TEST_SECRET", token)
    async with open_sandbox("docker", pool_size=1, image=sandbox_image) as fresh:
        half = len(token) // 2  # the job's own source must not contain the token whole
        prelude = f"import sys\nsys.argv_token = {token[:half]!r} + {token[half:]!r}\n"
        seen = await run_json(fresh, prelude + SCAN)
        assert seen["hits"] == []
        assert "PONDER_TEST_SECRET" not in seen["env_keys"]
        assert seen["env_cmd_lines"] > 0  # the scan really read `env`
        filters = {"label": [f"{LABEL}=1", f"{OWNER_LABEL}={owner()}"]}
        for container in engine.containers.list(filters=filters):
            assert not any(token in item for item in container.attrs["Config"]["Env"] or [])


async def test_host_files_are_not_visible(pool, tmp_path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-only")
    code = (
        "import json, os\n"
        f"paths = [{str(secret)!r}, {str(tmp_path)!r}, {str(REPO)!r}, '/var/run/docker.sock']\n"
        "print(json.dumps({'exists': [p for p in paths if os.path.exists(p)],\n"
        "    'hostname': open('/etc/hostname').read().strip(), 'uid': os.getuid(),\n"
        "    'mounts': open('/proc/mounts').read()}))\n"
    )
    seen = await run_json(pool, code)
    assert seen["exists"] == []
    assert seen["hostname"] == "sandbox" != socket.gethostname()
    assert seen["uid"] >= 10001
    assert str(tmp_path) not in seen["mounts"]
    await assert_serves(pool)


async def test_root_filesystem_is_read_only_and_privileges_dropped(pool) -> None:
    code = (
        "import json, os\n"
        "out = {}\n"
        "for path in ('/etc/evil', '/opt/ponder/runner.py', '/usr/bin/python3'):\n"
        "    try:\n"
        "        open(path, 'a').close(); out[path] = 'written'\n"
        "    except OSError as exc:\n"
        "        out[path] = exc.errno\n"
        "status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)\n"
        "out['CapEff'] = status['CapEff'].strip(); out['NoNewPrivs'] = status['NoNewPrivs'].strip()\n"
        "try:\n"
        "    os.setuid(0); out['setuid'] = 'became root'\n"
        "except OSError as exc:\n"
        "    out['setuid'] = exc.errno\n"
        "print(json.dumps(out))\n"
    )
    seen = await run_json(pool, code)
    assert all(value != "written" for value in seen.values()), seen
    assert seen["CapEff"] == "0000000000000000"
    assert seen["NoNewPrivs"] == "1"
    assert seen["setuid"] != "became root"


async def test_pool_containers_are_hardened(pool, engine) -> None:
    filters = {"label": [f"{LABEL}=1", f"{OWNER_LABEL}={owner()}"]}
    containers = engine.containers.list(filters=filters)
    assert containers
    for container in containers:
        host, config = container.attrs["HostConfig"], container.attrs["Config"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] and host["PidsLimit"] > 0
        assert host["Memory"] > 0
        assert not host["Init"]  # the runner is PID 1: no docker-init holding the stream
        assert not host.get("Binds") and not container.attrs["Mounts"]
        assert set(host["Tmpfs"]) == {"/tmp"}
        assert config["User"] and not config["User"].startswith("0")
        assert {item.split("=", 1)[0] for item in config["Env"]} <= {
            "PATH",
            "LANG",
            "PYTHONDONTWRITEBYTECODE",
        }
