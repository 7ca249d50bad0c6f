"""Error types: every message names the input that was wrong and how to fix it."""

from __future__ import annotations


class PonderError(Exception):
    """Base of every error Ponder raises on purpose.

    `fix` says what the user can do about it; the CLI prints it under the message.
    """

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if not fix else f"{message}\n  fix: {fix}")


class ConfigError(PonderError):
    """A model string, option or config file is wrong."""


class ModelError(PonderError):
    """A model file is missing, corrupt, or cannot be loaded."""


class LLMConnectionError(PonderError):
    """A model server cannot be reached (after retries)."""


class BudgetExhausted(PonderError):
    """The run's compute budget is spent."""


class SandboxError(PonderError):
    """The sandbox (engine, image, container) is unavailable or broken."""


class TaskFormatError(PonderError):
    """A task file is malformed; the message names the file, line and field."""


class OutputParseError(PonderError):
    """Model output could not be parsed into what an agent needed."""
