"""Gong's OAuth token endpoint, as ``reference/more_endpoints.md`` §11 and ``gong_api.md`` §1.2 describe it.

- ``POST /oauth2/generate-customer-token?grant_type=refresh_token&refresh_token=…`` with HTTP Basic
  ``client_id:client_secret``: answers ``{access_token, refresh_token, expires_in, scope, token_type,
  api_base_url_for_customer}``. The parameters are read from the query string (Gong's documented shape); a form
  body is not read.
- Refresh tokens are single-use: each refresh spends the token presented and returns a new one. A spent or unknown
  token gets ``400 {"error": "invalid_grant", "error_description": "Refresh token code is invalid"}``; wrong client
  credentials get ``401 {"error": "invalid_client"}``.
- Access tokens expire ``expires_in`` seconds after they were issued; with ``token_uses`` set, also after serving
  that many API requests (a stand-in for a clock that runs out while the client believes the token fresh, so
  tests can cross many expiries without waiting). An expired access token gets a 401 from every Gong endpoint.
- ``authorize()`` is the one-time consent: it mints a first refresh token (``POST /_sandbox/oauth/authorize``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common import dumps
from .http_types import Reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from .http_types import Request

TOKEN_PATH = "/oauth2/generate-customer-token"  # noqa: S105 (a path, not a secret)


@dataclass
class _Access:
    expires_at: float  # time.monotonic()
    uses_left: int | None


class OAuthIssuer:
    """Refresh and access tokens of the sandbox's one Gong app (client ``CLIENT_ID`` / ``CLIENT_SECRET``)."""

    CLIENT_ID = "sandbox-oauth-client-id"
    CLIENT_SECRET = "sandbox-oauth-client-secret"  # noqa: S105
    SCOPE = "api:calls:read:basic api:calls:read:extensive api:calls:read:transcript api:users:read"

    def __init__(self, *, expires_in: float, token_uses: int | None, base_url: Callable[[], str]) -> None:
        self.expires_in = expires_in
        self.token_uses = token_uses
        self.base_url = base_url
        self._refresh: dict[str, bool] = {}  # refresh token -> still valid
        self._access: dict[str, _Access] = {}
        self._lock = threading.Lock()
        # Counters for tests: refreshes answered, invalid_grant answers, API requests refused as expired.
        self.refreshes = 0
        self.refused = 0
        self.expired = 0
        self.expired_tokens: set[str] = set()  # access tokens that were refused as expired at least once

    def authorize(self) -> str:
        """The first refresh token, as the code exchange after the admin's consent gives it."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = True
        return token

    def spend(self, refresh_token: str) -> None:
        """Make a refresh token spent (as if another client had used it)."""
        with self._lock:
            if refresh_token in self._refresh:
                self._refresh[refresh_token] = False

    def expire_all(self) -> None:
        """Expire every access token issued so far (the next API request with one gets a 401)."""
        with self._lock:
            for access in self._access.values():
                access.expires_at = 0.0

    def valid_refresh_tokens(self) -> list[str]:
        with self._lock:
            return [token for token, valid in self._refresh.items() if valid]

    def access_tokens(self) -> list[str]:
        """The access tokens issued so far, oldest first."""
        with self._lock:
            return list(self._access)

    def all_tokens(self) -> list[str]:
        """Every refresh and access token issued (for tests that check no output shows one)."""
        with self._lock:
            return [*self._refresh, *self._access]

    def known(self, access_token: str) -> bool:
        with self._lock:
            return access_token in self._access

    def use(self, access_token: str) -> bool:
        """Whether an issued access token may serve one more API request (counting the use)."""
        now = time.monotonic()
        with self._lock:
            access = self._access[access_token]
            if now >= access.expires_at or access.uses_left == 0:
                self.expired += 1
                self.expired_tokens.add(access_token)
                return False
            if access.uses_left is not None:
                access.uses_left -= 1
            return True

    def handle(self, req: Request) -> Reply:
        if req.path.rstrip("/") != TOKEN_PATH:
            return Reply(404, dumps({"error": "not_found"}))
        if req.method != "POST":
            return Reply(405, dumps({"error": "invalid_request", "error_description": "POST only"}))
        if not self._client_ok(req.headers.get("Authorization") or ""):
            return Reply(
                401, dumps({"error": "invalid_client", "error_description": "Bad client credentials"})
            )
        query = {k: v[-1] for k, v in req.query.items()}
        if query.get("grant_type") != "refresh_token" or not query.get("refresh_token"):
            return Reply(
                400,
                dumps(
                    {"error": "invalid_request", "error_description": "grant_type and refresh_token required"}
                ),
            )
        presented = query["refresh_token"]
        with self._lock:
            if not self._refresh.get(presented):
                self.refused += 1
                return Reply(
                    400,
                    dumps({"error": "invalid_grant", "error_description": "Refresh token code is invalid"}),
                )
            self._refresh[presented] = False
            rotated = "rt-" + secrets.token_urlsafe(24)
            access = "at-" + secrets.token_urlsafe(24)
            self._refresh[rotated] = True
            self._access[access] = _Access(time.monotonic() + self.expires_in, self.token_uses)
            self.refreshes += 1
        body = {
            "access_token": access,
            "refresh_token": rotated,
            "scope": self.SCOPE,
            "token_type": "bearer",
            "expires_in": int(self.expires_in) if float(self.expires_in).is_integer() else self.expires_in,
            "api_base_url_for_customer": self.base_url(),
        }
        return Reply(200, dumps(body))

    def _client_ok(self, header: str) -> bool:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded, f"{self.CLIENT_ID}:{self.CLIENT_SECRET}")
