"""Loads and renders the repair agent's Jinja prompt templates (files in `templates/`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from ponder.llm.base import Message

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **values: object) -> str:
    return _env().get_template(name).render(**values).strip() + "\n"


def render_chat(name: str, **values: object) -> list[Message]:
    """A one-message chat from `templates/<name>`."""
    return [{"role": "user", "content": render(name, **values)}]
