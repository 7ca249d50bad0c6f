"""Model selection by one string: a registry of backend prefixes, and `open_model`.

A backend is a `Backend(prefix, forms, factory)`; add one with `register_backend(...)` or, from
a package, with an entry point naming it:

    [project.entry-points."ponder.backends"]
    mybackend = "mypkg.llm:BACKEND"
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ponder.errors import ConfigError
from ponder.llm.base import LLM
from ponder.llm.cache import ResponseCache
from ponder.llm.client import ModelClient
from ponder.llm.embedded import DEFAULT_EMBEDDED, EMBEDDED_MODELS, embedded_name
from ponder.plugins import Registry

ALLOW_SCRIPTED_ENV = "PONDER_ALLOW_SCRIPTED"
DEFAULT_MODEL = "local"

# (argument after "prefix:", the whole spec, backend options) -> backend
Factory = Callable[[str, str, dict[str, Any]], LLM]


@dataclass(frozen=True)
class Backend:
    """One backend prefix: `forms` document its strings, `factory` builds it."""

    prefix: str
    forms: tuple[tuple[str, str], ...]  # (form, one-line description)
    factory: Factory
    listed: bool = True  # test-only backends are not advertised


def _require(arg: str, spec: str, form: str) -> str:
    if not arg:
        raise ConfigError(f"model string {spec!r} lacks its argument", fix=f"write it as {form}")
    return arg


def _local(arg: str, spec: str, opts: dict[str, Any]) -> LLM:
    """`local` (the default embedded model), `local:NAME` (another one), `local:PATH.gguf`."""
    from ponder.llm.embedded import ensure_embedded_model
    from ponder.llm.local import LlamaCppChat, import_llama

    name = embedded_name(arg)
    if name is None and not arg.endswith(".gguf") and not Path(arg).expanduser().is_file():
        raise ConfigError(
            f"model string {spec!r}: {arg!r} is neither an embedded model nor a file",
            fix=f"use an embedded model ({', '.join(f'local:{n}' for n in EMBEDDED_MODELS)}; "
            "plain local is local:default) or local:PATH.gguf for a GGUF file",
        )
    import_llama()  # fail on a missing llama-cpp-python before assembling a model from parts
    path = ensure_embedded_model(name) if name is not None else Path(arg).expanduser()
    return LlamaCppChat(path, name=spec, **opts)


def _local_forms() -> tuple[tuple[str, str], ...]:
    default = EMBEDDED_MODELS[DEFAULT_EMBEDDED]
    return (
        ("local", f"{default.description} (default)"),
        *((f"local:{n}", m.description) for n, m in EMBEDDED_MODELS.items() if m is not default),
        ("local:PATH.gguf", "any GGUF file via llama.cpp"),
    )


def _openai(arg: str, spec: str, opts: dict[str, Any]) -> LLM:
    from ponder.llm.openai_backend import OpenAIChat

    model, _, url = _require(arg, spec, "openai:MODEL@URL").partition("@")
    if not model:
        raise ConfigError(
            f"model string {spec!r} names no model before '@'",
            fix="write it as openai:MODEL@URL, e.g. openai:qwen@http://127.0.0.1:8080/v1",
        )
    return OpenAIChat(model, url or None, name=spec, **opts)


def _vllm(arg: str, spec: str, opts: dict[str, Any]) -> LLM:
    from ponder.llm.vllm_backend import VLLMChat

    return VLLMChat(_require(arg, spec, "vllm:PATH"), name=spec, **opts)


def _hf(arg: str, spec: str, opts: dict[str, Any]) -> LLM:
    from ponder.llm.hf import HFChat

    return HFChat(_require(arg, spec, "hf:PATH"), name=spec, **opts)


def _scripted(arg: str, spec: str, opts: dict[str, Any]) -> LLM:
    from ponder.llm.scripted import ScriptedLLM

    if os.environ.get(ALLOW_SCRIPTED_ENV) != "1":
        raise ConfigError(
            f"model string {spec!r}: the scripted test double is for the test suite only",
            fix=f"use a real model (--model local); tests set {ALLOW_SCRIPTED_ENV}=1",
        )
    path = Path(_require(arg, spec, "scripted:FILE.json"))
    try:
        replies = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read scripted replies from {path}: {exc}",
            fix="pass a JSON file holding a list of reply strings",
        ) from exc
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        raise ConfigError(
            f"{path} must hold a JSON list of strings", fix='write e.g. ["reply one", "reply two"]'
        )
    return ScriptedLLM(replies, name=spec, **opts)


def _adapt(name: str, backend: object) -> Backend:
    if not isinstance(backend, Backend):
        raise ConfigError(
            f"model backend {name!r} is {backend!r}, not a Backend",
            fix="register (or name in the entry point) a ponder.llm.registry.Backend(prefix, forms, factory)",
        )
    return backend


ENTRY_POINT_GROUP = "ponder.backends"
BACKEND_REGISTRY: Registry[Backend] = Registry("model backend", ENTRY_POINT_GROUP, adapt=_adapt)


def register_backend(backend: Backend) -> Backend:
    """Make `backend` build the model strings `PREFIX` and `PREFIX:ARG` for its prefix."""
    return BACKEND_REGISTRY.register(backend.prefix, backend)


for _backend in (
    Backend("local", _local_forms(), _local),
    Backend(
        "openai",
        (
            (
                "openai:MODEL@URL",
                "an OpenAI-compatible server, e.g. openai:qwen@http://127.0.0.1:8080/v1",
            ),
        ),
        _openai,
    ),
    Backend("vllm", (("vllm:PATH", "the in-process vLLM engine (GPU)"),), _vllm),
    Backend("hf", (("hf:PATH", "a transformers causal LM on cuda or cpu"),), _hf),
    Backend("scripted", (("scripted:FILE.json", "tests only"),), _scripted, listed=False),
):
    register_backend(_backend)
del _backend

BACKENDS: Mapping[str, Backend] = MappingProxyType(BACKEND_REGISTRY.entries)
"""Backends registered so far (built-ins, `register_backend`, loaded plug-ins), read-only."""


def model_forms() -> list[tuple[str, str]]:
    """The advertised model-string forms with one line each (for help texts and errors)."""
    forms = []
    for prefix in BACKEND_REGISTRY.names():
        try:
            backend = BACKEND_REGISTRY.get(prefix)
        except ConfigError:  # a broken plug-in: its error shows when it is used
            continue
        forms += backend.forms if backend.listed else ()
    return forms


def create_llm(spec: str, **backend_opts: Any) -> LLM:
    """Build the backend that `spec` names (no cache, no accounting)."""
    prefix, _, arg = spec.strip().partition(":")
    if prefix not in BACKEND_REGISTRY:
        forms = ", ".join(form for form, _ in model_forms())
        raise ConfigError(
            f"unknown model string {spec!r}",
            fix=f"use one of: {forms} (e.g. --model local), or install a plug-in that declares "
            f"the prefix in the {ENTRY_POINT_GROUP!r} entry-point group",
        )
    backend = BACKEND_REGISTRY.get(prefix)
    try:
        return backend.factory(arg, spec.strip(), backend_opts)
    except TypeError as exc:
        if backend_opts and "argument" in str(exc):
            raise ConfigError(
                f"model {spec!r} does not take option(s) {sorted(backend_opts)}: {exc}",
                fix=f"see the {backend.prefix} backend's constructor for its options",
            ) from exc
        raise


def open_model(
    spec: str = DEFAULT_MODEL,
    *,
    cache: bool = True,
    cache_path: Path | None = None,
    **backend_opts: Any,
) -> ModelClient:
    """A ModelClient for the model string `spec` (see `model_forms()`).

    With `cache` (the default) deterministic calls go through the SQLite response cache at
    `cache_path` (default: $PONDER_CACHE_DIR/responses.sqlite or ~/.cache/ponder/...).
    Extra keyword arguments go to the backend (e.g. n_ctx=8192 for local, retry=... for openai).
    """
    llm = create_llm(spec, **backend_opts)
    return ModelClient(llm, ResponseCache(cache_path) if cache else None)
