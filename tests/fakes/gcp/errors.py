"""GCE's error body, shared by the fake's modules."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error in GCE's body format."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
            }
        }
