"""LLM layer: one async chat interface, several backends, a response cache and accounting."""

from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob

__all__ = ["LLM", "Completion", "Generation", "Message", "SamplingParams", "TokenLogprob"]
