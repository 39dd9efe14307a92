"""The error the fake API server answers as a v1 Status."""

from __future__ import annotations


class ApiError(Exception):
    """Becomes a Status response with this HTTP code."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
