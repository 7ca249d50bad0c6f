"""Verifiers score candidates: the protocol, the registry (with plug-ins) and built-ins."""

from ponder.verifiers.base import Candidate, Verdict, Verifier
from ponder.verifiers.registry import (
    build_verifier,
    get_verifier,
    known_verifiers,
    register_verifier,
)

__all__ = [
    "Candidate",
    "Verdict",
    "Verifier",
    "build_verifier",
    "get_verifier",
    "known_verifiers",
    "register_verifier",
]
