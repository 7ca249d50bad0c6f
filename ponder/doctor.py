"""Health checks for `ponder doctor`: what is ready, and the command that fixes what is not."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_docker() -> Check:
    from ponder.sandbox.image import docker_status

    status = docker_status()
    return Check("docker engine", status.ok, status.detail, status.fix)


def check_sandbox_image() -> Check:
    from ponder.sandbox.image import image_status

    status = image_status()
    return Check("sandbox image", status.ok, status.detail, status.fix)


def check_llama_cpp() -> Check:
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(
            "llama.cpp",
            False,
            "llama-cpp-python is not installed",
            "pip install 'ponder[local]'  (or: make install)",
        )
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    return Check("llama.cpp", True, f"llama-cpp-python {llama_cpp.__version__}; {info[:80]}")


def check_embedded_model() -> Check:
    from ponder.llm.embedded import embedded_model_status

    status = embedded_model_status()
    return Check("embedded model", status.ok, status.detail, status.fix)


def check_gpu() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check(
            "gpu",
            False,
            "torch is not installed (needed for the hf/PRM backends)",
            "pip install 'ponder[prm]'",
        )
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("gpu", True, f"torch {torch.__version__}, cuda: {names}")
    return Check("gpu", True, f"torch {torch.__version__}, no CUDA device: PRMs run on the CPU")


def check_vllm() -> Check:
    if importlib.util.find_spec("vllm") is None:
        return Check(
            "vllm",
            True,
            "not installed (optional GPU serving path)",
            "pip install 'ponder[vllm]' on a GPU machine",
        )
    return Check("vllm", True, "installed")


CHECKS: list[Callable[[], Check]] = [
    check_docker,
    check_sandbox_image,
    check_llama_cpp,
    check_embedded_model,
    check_gpu,
    check_vllm,
]


def run_checks() -> list[Check]:
    """Run every check; a check that crashes is reported as failed, not raised."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # noqa: BLE001 - doctor must always finish its report
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, False, f"check failed: {exc}"))
    return results
