"""The HTTP request and reply types shared by the server and the API handlers (so the handlers need not import
the server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """An HTTP answer: status, JSON body bytes and extra headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """A parsed request as the handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    raw_body: bytes
    body: Any = None
    body_error: bool = False

    @property
    def cursor(self) -> object:
        if self.method == "POST":
            return self.body.get("cursor") if isinstance(self.body, dict) else None
        values = self.query.get("cursor")
        return values[-1] if values else None
