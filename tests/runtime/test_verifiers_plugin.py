"""A verifier plug-in installed in a temporary environment is found through its entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "plugin_verifier"

CHECK = """
import asyncio, json
from ponder.verifiers import Candidate, get_verifier, known_verifiers
verifier = get_verifier("length", sandbox=None, budget=None)
verdicts = asyncio.run(verifier.verify(None, [Candidate(text="x" * 50), Candidate(text="y" * 300)]))
print(json.dumps({"known": known_verifiers(), "name": verifier.name,
                  "scores": [v.score for v in verdicts], "passed": [v.passed for v in verdicts]}))
"""


def run(*cmd: str | Path) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> Path:
    """A fresh venv that sees Ponder (and its dependencies) and has the plug-in installed."""
    root = tmp_path_factory.mktemp("plugin")
    env = root / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (site / "ponder_dev.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{REPO}\n")
    source = shutil.copytree(FIXTURE, root / "src")  # keep build files out of the repo
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        source,
    )
    return python


def test_plugin_found_through_entry_point(plugin_env: Path) -> None:
    import json

    out = json.loads(run(plugin_env, "-c", CHECK))
    assert out["name"] == "length"
    assert "length" in out["known"] and "tests" in out["known"]
    assert out["scores"] == [0.75, 0.0] and out["passed"] == [True, False]


def test_plugin_absent_here() -> None:
    from ponder.errors import ConfigError
    from ponder.verifiers import get_verifier

    with pytest.raises(ConfigError, match="unknown verifier 'length'"):
        get_verifier("length")
