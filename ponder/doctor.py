"""Health checks for `ponder doctor`: what is ready, what the next step builds, what is broken."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """A check's verdict. Only BROKEN makes `ponder doctor` exit non-zero."""

    OK = "ok"
    # Not built yet, and the next step builds it by itself (the embedded model on first use).
    PENDING = "pending"
    # Needs the user: the fix names the command.
    BROKEN = "broken"
    # An optional part that is absent; nothing needs it unless the user asks for it.
    OPTIONAL = "optional"


@dataclass
class Check:
    name: str
    state: State
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        """Usable now, or built by the next step without the user's help."""
        return self.state is not State.BROKEN


def check_docker() -> Check:
    from ponder.sandbox.image import docker_status

    status = docker_status()
    return Check(
        "docker engine", State.OK if status.ok else State.BROKEN, status.detail, status.fix
    )


def check_sandbox_image() -> Check:
    from ponder.sandbox.image import image_status

    status = image_status()
    # Nothing builds the image implicitly (the build takes a minute and may need root's
    # debootstrap), so a missing image needs the user.
    return Check(
        "sandbox image", State.OK if status.ok else State.BROKEN, status.detail, status.fix
    )


def check_llama_cpp() -> Check:
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(
            "llama.cpp",
            State.BROKEN,
            "llama-cpp-python is not installed",
            "pip install 'ponder[local]'  (or: make install)",
        )
    from ponder.provenance import engine

    # The same string bench rows and run configs record, so a user can match a figure to a build.
    return Check("llama.cpp", State.OK, f"engine {engine('local')}")


def check_embedded_model() -> Check:
    from ponder.llm.embedded import embedded_model_status

    status = embedded_model_status()
    if status.ok:
        state = State.OK
    elif status.missing_parts:
        state = State.BROKEN  # nothing to assemble from: the user must install the parts
    else:
        # Parts installed: the first use (or `ponder model fetch`) assembles and verifies it.
        state = State.PENDING
    return Check("embedded model", state, status.detail, status.fix or "")


def check_coder_1_5b_model() -> Check:
    """The optional second embedded model: never broken, since nothing needs it by default."""
    from ponder.llm.embedded import embedded_model, embedded_model_status

    name = "coder-1.5b"
    model = embedded_model(name)
    status = embedded_model_status(name)
    if status.ok:
        return Check(f"model {name}", State.OK, status.detail)
    if status.present or not status.missing_parts:
        # Parts installed (or a cached file to recheck): first use of local:coder-1.5b builds it.
        return Check(f"model {name}", State.PENDING, status.detail, status.fix or "")
    if len(status.missing_parts) < len(model.parts):
        detail = f"partly installed, missing: {', '.join(status.missing_parts)}"
    else:
        detail = f"not installed (optional; loaded by --model local:{name})"
    return Check(f"model {name}", State.OPTIONAL, detail, model.install_fix)


def check_gpu() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check(
            "gpu",
            State.OPTIONAL,
            "torch is not installed (needed for the hf/PRM backends)",
            "pip install 'ponder[prm]'",
        )
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("gpu", State.OK, f"torch {torch.__version__}, cuda: {names}")
    return Check(
        "gpu", State.OPTIONAL, f"torch {torch.__version__}, no CUDA device: PRMs run on the CPU"
    )


def check_vllm() -> Check:
    if importlib.util.find_spec("vllm") is None:
        return Check(
            "vllm",
            State.OPTIONAL,
            "not installed (optional GPU serving path)",
            "pip install 'ponder[vllm]' on a GPU machine",
        )
    return Check("vllm", State.OK, "installed")


CHECKS: list[Callable[[], Check]] = [
    check_docker,
    check_sandbox_image,
    check_llama_cpp,
    check_embedded_model,
    check_coder_1_5b_model,
    check_gpu,
    check_vllm,
]


def run_checks() -> list[Check]:
    """Run every check; a check that crashes is reported as broken, not raised."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # noqa: BLE001 - doctor must always finish its report
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, State.BROKEN, f"check failed: {exc}"))
    return results
