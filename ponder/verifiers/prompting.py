"""Loads and renders the verifiers' Jinja prompt templates (files in `templates/`)."""

from __future__ import annotations

from functools import cache

import jinja2

from ponder.llm.base import Message


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ponder.verifiers", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **values: object) -> str:
    return _env().get_template(name).render(**values).strip()


def chat(system_template: str, user_template: str, **values: object) -> list[Message]:
    """A two-message chat from a system and a user template."""
    return [
        {"role": "system", "content": render(system_template, **values)},
        {"role": "user", "content": render(user_template, **values)},
    ]


def clip(text: str, limit: int = 6000) -> str:
    """Keep long candidates readable: the head and tail with a marker between."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"
