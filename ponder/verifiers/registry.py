"""The verifier registry: built-ins register by name, plug-ins via the `ponder.verifiers` entry points."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ponder.errors import ConfigError
from ponder.plugins import Registry
from ponder.verifiers.base import Verifier

ENTRY_POINT_GROUP = "ponder.verifiers"
RUNTIME_PARTS = ("sandbox", "model", "budget")  # passed only to factories that name them
VerifierFactory = Callable[..., Verifier]

VERIFIERS: Registry[VerifierFactory] = Registry(
    "verifier",
    ENTRY_POINT_GROUP,
    modules=(
        "ponder.verifiers.tests",
        "ponder.verifiers.judge",
        "ponder.verifiers.majority",
        "ponder.verifiers.executes",
        "ponder.verifiers.generated_tests",
        "ponder.verifiers.chooser",
        "ponder.verifiers.composite",
        "ponder.verifiers.prm",
        "ponder.verifiers.repo_tests",
    ),
)
_BUILTIN = VERIFIERS.entries  # tests patch it
_load_builtins = VERIFIERS.load_builtins


def register_verifier(name: str) -> Callable[[VerifierFactory], VerifierFactory]:
    """Class decorator: make a verifier available to `get_verifier(name)`."""
    return VERIFIERS.register(name)


def known_verifiers() -> list[str]:
    """Names of the built-in verifiers and of every installed plug-in."""
    return sorted(VERIFIERS.names())


def _call(name: str, factory: VerifierFactory, ctx: dict[str, Any]) -> Verifier:
    params = inspect.signature(factory).parameters
    kwargs = {k: v for k, v in ctx.items() if k in params}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs |= {k: v for k, v in ctx.items() if k not in RUNTIME_PARTS}
    missing = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and kwargs.get(p.name) is None
    ]
    if missing:
        raise ConfigError(
            f"verifier {name!r} needs {', '.join(missing)}",
            fix=f"pass {', '.join(m + '=...' for m in missing)} to get_verifier",
        )
    verifier = factory(**kwargs)
    if not isinstance(verifier, Verifier):
        raise ConfigError(
            f"verifier {name!r} does not implement the Verifier protocol (name, async verify)",
            fix="give the class a `name` attribute and an `async def verify(task, candidates)`",
        )
    return verifier


def get_verifier(name: str, **ctx: Any) -> Verifier:
    """Build the verifier called `name`.

    `ctx` holds the runtime parts a verifier may need: `sandbox=` (Sandbox), `model=`
    (ModelClient), `budget=` (Budget), plus options (e.g. `weights=` for composite). A
    factory receives the keywords it declares; one taking **kwargs also receives the other
    options, but a runtime part only when it names it. So callers may pass every part to
    every verifier.
    """
    return _call(name, VERIFIERS.get(name), ctx)


def build_verifier(specs: list[str] | str, **ctx: Any) -> Verifier:
    """One verifier from CLI-style specs: `["tests"]`, or `["tests:0.7", "judge:0.3"]`.

    Several specs (or any weight) give a `composite` with those weights (default weight 1).
    """
    specs = [specs] if isinstance(specs, str) else list(specs)
    if not specs:
        raise ConfigError("no verifier given", fix="pass --verifier NAME (e.g. tests)")
    weights: dict[str, float] = {}
    for spec in specs:
        name, _, weight = spec.partition(":")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(
                f"bad verifier weight in {spec!r}", fix="write NAME or NAME:WEIGHT, e.g. tests:0.7"
            ) from None
    if len(weights) == 1 and not any(":" in s for s in specs):
        return get_verifier(next(iter(weights)), **ctx)
    return get_verifier("composite", weights=weights, **ctx)
