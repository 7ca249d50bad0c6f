"""Sandboxed execution of untrusted code: Docker pool (default) or local subprocess."""

from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox

__all__ = ["ExecResult", "Job", "Limits", "Sandbox"]
