"""Sandboxed execution of untrusted code: Docker pool (default) or local subprocess."""

from ponder.sandbox.base import ExecResult, Job, Limits, Sandbox
from ponder.sandbox.registry import SANDBOX_KINDS, open_sandbox, register_sandbox
from ponder.sandbox.repo import RepoResult, run_repo_job

__all__ = [
    "SANDBOX_KINDS",
    "ExecResult",
    "Job",
    "Limits",
    "RepoResult",
    "Sandbox",
    "open_sandbox",
    "register_sandbox",
    "run_repo_job",
]
