"""The one exception fine-tuning raises for things a user can fix."""

from __future__ import annotations


class FinetuneError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
