"""LLM layer: one async chat interface, several backends, a response cache and accounting."""

from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob
from ponder.llm.cache import ResponseCache
from ponder.llm.client import ModelClient
from ponder.llm.embedded import embedded_model_status, ensure_embedded_model
from ponder.llm.registry import (
    DEFAULT_MODEL,
    Backend,
    create_llm,
    model_forms,
    open_model,
    register_backend,
)

__all__ = [
    "DEFAULT_MODEL",
    "LLM",
    "Backend",
    "Completion",
    "Generation",
    "Message",
    "ModelClient",
    "ResponseCache",
    "SamplingParams",
    "TokenLogprob",
    "create_llm",
    "embedded_model_status",
    "ensure_embedded_model",
    "model_forms",
    "open_model",
    "register_backend",
]
