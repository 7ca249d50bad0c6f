"""Chat messages to prompt tokens with the GGUF's own chat template, as llama-cpp-python does."""

from __future__ import annotations

from ponder.errors import ModelError
from ponder.llm.base import Message
from ponder.llm.llamacpp.native import Model


class ChatPrompt:
    """Renders messages with the template stored in the GGUF and tokenizes the result.

    Same formatter and tokenizer flags as llama-cpp-python's `create_chat_completion`, so the
    batched engine sees the token ids the sequential path sees.
    """

    def __init__(self, model: Model, name: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = model.chat_template()
        if template is None:
            raise ModelError(
                f"{name}: the GGUF stores no chat template",
                fix="use a chat (instruct) GGUF, or open it with batching=False to use "
                "llama-cpp-python's fallback chat format",
            )
        self._model = model
        self._format = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_text(model.eos),
            bos_token=model.token_text(model.bos),
        )

    def tokens(self, messages: list[Message]) -> list[int]:
        result = self._format(messages=[dict(m) for m in messages])
        return self._model.tokenize(result.prompt, add_bos=not result.added_special)
