"""Jinja prompt templates per task kind (`templates/<kind>/<name>.j2`), rendered to chat messages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ponder.errors import ConfigError
from ponder.llm.base import Message

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def kinds() -> list[str]:
    """Task kinds that have prompt templates."""
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())


def render(kind: str, name: str, **context: Any) -> list[Message]:
    """Render `templates/<kind>/<name>.j2` into a one-message chat."""
    try:
        template = _environment().get_template(f"{kind}/{name}.j2")
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(
            f"no prompt template {kind}/{name}.j2 for task kind {kind!r}",
            fix=f"use a task kind with templates ({', '.join(kinds())}) or add {TEMPLATES}/{kind}/{name}.j2",
        ) from exc
    return [{"role": "user", "content": template.render(**context).strip() + "\n"}]
