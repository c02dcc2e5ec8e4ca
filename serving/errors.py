"""Scoring errors raised by the clients, inside the core exception tree."""

from __future__ import annotations

from core.errors import PermanentError, TemporaryError

__all__ = ["ScoringRejected", "ScoringUnavailable"]


class ScoringUnavailable(TemporaryError):
    """No model could answer: endpoint down, timed out, overloaded or nothing promoted yet."""


class ScoringRejected(PermanentError):
    """The endpoint refused the request (unknown strategy, invalid rows, bad token)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"scoring rejected ({status}): {message}")
        self.status = status
