"""The exception hierarchy, defined by the native module and re-exported here."""

from __future__ import annotations

from ._native import AgentLensError, ConfigurationError, ValidationError

__all__ = ["AgentLensError", "ConfigurationError", "ValidationError", "invalid"]


def invalid(path: str, message: str) -> ValidationError:
    """Build a `ValidationError` for one value, shaped like those the native module raises."""
    error = ValidationError(f"{path}: {message}")
    error.errors = [(path, message)]
    error.path = path
    return error
