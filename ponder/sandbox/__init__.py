"""Sandboxed execution of untrusted code: Docker pool (default) or local subprocess."""

from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox
from ponder.sandbox.registry import SANDBOX_KINDS, open_sandbox, register_sandbox

__all__ = [
    "SANDBOX_KINDS",
    "ExecResult",
    "Job",
    "Limits",
    "Sandbox",
    "open_sandbox",
    "register_sandbox",
]
