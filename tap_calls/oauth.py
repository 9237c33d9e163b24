"""Gong OAuth that keeps working: refresh with rotating single-use refresh tokens, and a token store.

Gong facts (reference/more_endpoints.md §11, gong_api.md §1.2-1.3):
- Refresh: `POST https://app.gong.io/oauth2/generate-customer-token?grant_type=refresh_token&refresh_token=…`
  with HTTP Basic `client_id:client_secret`. The answer is JSON: `access_token`, `refresh_token` (a NEW one: refresh
  tokens are single-use), `expires_in` (seconds, about a day), `scope`, `api_base_url_for_customer` (the host every
  API request must go to, e.g. `https://us-49467.api.gong.io`).
- A spent or unknown refresh token is refused with HTTP 400 `{"error": "invalid_grant", ...}`.

What this module adds (the contract's "OAuth with refresh"):
- `TokenStore`: the JSON file `oauth_token_store` holding the refresh token, the access token, its expiry and the
  base URL; rewritten atomically (temporary file in the same directory, fsync, rename; mode 0600) under an
  exclusive `fcntl.flock` on `<store>.lock`. Under Meltano the tap's config is regenerated every run, so the store
  is what carries a rotated refresh token to the next run.
- `GongOAuthAuthenticator`: ONE instance per run for every Gong stream and the scheduler's worker threads
  (`gong_authenticator`). It refreshes once per expiry for the whole run (when less than `EARLY_REFRESH_SECONDS`
  remain, or once on a 401), writes the store BEFORE the new access token is used, adopts a token another process
  wrote to the store instead of refreshing again, and ends the run with one line naming `oauth_token_store` when
  Gong refuses every refresh token it has.
No token, refresh token or client secret is ever logged: each one is handed to `redact.redact_secrets` before
any request carries it (urllib3 logs request URLs, refresh token included, at DEBUG).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
import typing as t
import weakref
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import requests
from requests.auth import HTTPBasicAuth
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator, OAuthAuthenticator
from typing_extensions import override

from tap_calls.errors import AuthError, TapCallsError
from tap_calls.redact import redact_secrets

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tap_calls.client import SourceStream

DEFAULT_TOKEN_URL = "https://app.gong.io/oauth2/generate-customer-token"  # noqa: S105 (a URL, not a secret)
DEFAULT_API_URL = "https://api.gong.io"
# The contract: refresh when less than 120 s of the access token remain. Gong's tokens live about a day; for a
# token that lives less than 8 minutes (never seen from Gong, but an emulator or a `validity_duration` may do it)
# a quarter of its life is the margin instead, so that a short-lived token is not refreshed before every request.
EARLY_REFRESH_SECONDS = 120.0
# Used when a refresh answer carries no `expires_in` (Gong documents a day; a 401 still triggers a refresh).
DEFAULT_LIFETIME_SECONDS = 86_400
REFRESH_TRIES = 3
OAUTH_SETTINGS = ("oauth_client_id", "oauth_client_secret", "oauth_refresh_token", "oauth_token_store")
OAUTH_CREDENTIALS = "oauth_client_id, oauth_client_secret and oauth_refresh_token / oauth_token_store"

Kind = t.Literal["oauth", "access_token", "key_pair"]
KIND_NAMES: dict[Kind, str] = {
    "oauth": f"OAuth with refresh ({', '.join(OAUTH_SETTINGS)})",
    "access_token": "a static OAuth access_token (not refreshed)",
    "key_pair": "the access key pair (access_key, access_key_secret)",
}

logger = logging.getLogger("tap-calls")


# Settings --------------------------------------------------------------------------------------------------


def oauth_requested(config: Mapping[str, t.Any]) -> bool:
    """Whether any of the OAuth refresh settings is set (`oauth_token_url` has a default: it does not count)."""
    return any(config.get(name) for name in OAUTH_SETTINGS)


def credential_kind(config: Mapping[str, t.Any]) -> Kind | None:
    """The Gong credentials a run uses: OAuth refresh settings win, then `access_token`, then the key pair.

    OAuth counts as soon as one of its settings is set; `oauth_problem` then names what is missing.
    """
    if oauth_requested(config):
        return "oauth"
    if config.get("access_token"):
        return "access_token"
    if config.get("access_key") or config.get("access_key_secret"):
        return "key_pair"
    return None


def oauth_problem(config: Mapping[str, t.Any]) -> str | None:
    """One line saying which OAuth setting is missing or unusable, or None when the four configure Gong."""
    missing = [
        name
        for name in ("oauth_client_id", "oauth_client_secret", "oauth_token_store")
        if not config.get(name)
    ]
    if missing:
        return (
            f"Gong OAuth needs {', '.join(missing)} too (set oauth_client_id, oauth_client_secret, "
            "oauth_refresh_token and oauth_token_store; see docs/oauth.md)"
        )
    store = TokenStore(str(config["oauth_token_store"]))
    if not config.get("oauth_refresh_token") and store.read() is None:
        return (
            f"oauth_refresh_token is not set and oauth_token_store {store.path} holds no refresh token: authorize "
            "the Gong app once and set oauth_refresh_token (docs/oauth.md)"
        )
    url = urlparse(str(config.get("oauth_token_url") or DEFAULT_TOKEN_URL))
    if url.scheme not in {"http", "https"} or not url.hostname:
        return f"oauth_token_url {config.get('oauth_token_url')!r} is not a URL; expected e.g. {DEFAULT_TOKEN_URL}"
    return None


# The store -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What the store holds. `expires_at`: Unix time (s) the access token expires; `expires_in`: its lifetime."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float | None = None
    expires_in: float | None = None
    api_base_url: str | None = None

    def seconds_left(self, now: float) -> float:
        return (self.expires_at or 0.0) - now

    def fresh(self, now: float) -> bool:
        """Whether the access token is usable for more than the early-refresh margin."""
        if not self.access_token or self.expires_at is None or not self.api_base_url:
            return False
        return self.seconds_left(now) > refresh_margin(self.expires_in)


def refresh_margin(lifetime: float | None) -> float:
    """Seconds before expiry at which a token is refreshed (see EARLY_REFRESH_SECONDS)."""
    if not lifetime or lifetime <= 0:
        return EARLY_REFRESH_SECONDS
    return min(EARLY_REFRESH_SECONDS, lifetime / 4)


class TokenStore:
    """The JSON file `oauth_token_store` (see the module docstring); `~` is expanded.

    File shape: `{"refresh_token": str, "access_token": str|null, "expires_at": "RFC 3339"|null,
    "expires_in": seconds|null, "api_base_url": str|null, "updated_at": "RFC 3339"}`.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(os.path.expandvars(path)).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock that every reader-then-writer of the store takes (other processes too).

        Raises:
            TapCallsError: the store's directory cannot be created or the lock file cannot be opened.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            msg = f"oauth_token_store {self.path}: cannot create its lock file ({exc.strerror or exc})"
            raise TapCallsError(msg) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def read(self) -> Tokens | None:
        """The tokens in the store; None when the file is absent, empty or holds no refresh token.

        Raises:
            TapCallsError: the file cannot be read or is not the JSON object this module writes.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise TapCallsError(f"oauth_token_store {self.path} cannot be read ({reason})") from None
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            msg = (
                f"oauth_token_store {self.path} is not a token store (a JSON object written by tap-calls): "
                "move it away, or point oauth_token_store at another path"
            )
            raise TapCallsError(msg)
        refresh = data.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            return None
        access = data.get("access_token")
        tokens = Tokens(
            refresh_token=refresh,
            access_token=access if isinstance(access, str) and access else None,
            expires_at=_unix(data.get("expires_at")),
            expires_in=_number(data.get("expires_in")),
            api_base_url=data.get("api_base_url") if isinstance(data.get("api_base_url"), str) else None,
        )
        redact_secrets(v for v in (tokens.refresh_token, tokens.access_token) if v)
        return tokens

    def write(self, tokens: Tokens) -> None:
        """Replace the store with `tokens`: temporary file in the same directory, fsync, rename, mode 0600.

        Call it under `locked()`. Raises TapCallsError when the directory is not writable.
        """
        data = {
            **asdict(tokens),
            "expires_at": _rfc3339(tokens.expires_at),
            "updated_at": _rfc3339(time.time()),
        }
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as exc:
            raise TapCallsError(
                f"oauth_token_store {self.path} cannot be written ({exc.strerror or exc})"
            ) from None
        try:
            os.fchmod(fd, 0o600)  # mkstemp creates 0600 already; said here so that the rename keeps it
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the rename itself survives a crash
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise TapCallsError(
                f"oauth_token_store {self.path} cannot be written ({exc.strerror or exc})"
            ) from None


def _rfc3339(unix: float | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def _unix(value: t.Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _number(value: t.Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# The authenticator -----------------------------------------------------------------------------------------


class RefreshRefused(Exception):
    """Gong answered `invalid_grant`: the refresh token presented is spent, revoked or unknown."""


class GongOAuthAuthenticator(OAuthAuthenticator):
    """Bearer tokens from Gong's refresh endpoint, shared by every Gong stream and worker thread of a run.

    Built on singer-sdk's `OAuthAuthenticator` (its client id/secret, token endpoint, `oauth_request_body`,
    `access_token`/`refresh_token`/`expires_in`/`last_refreshed`). Overridden, because Gong differs:
    - `update_access_token`: the SDK posts a form body and ignores the rotated `refresh_token` in the answer;
      Gong wants the parameters on the query string with HTTP Basic client auth, and its refresh tokens are
      single-use, so the new one must be kept (and written to the store before the new access token is used).
    - `is_token_valid`: the SDK refreshes at expiry; the contract refreshes when less than 120 s remain.
    - `authenticate_request`: the SDK writes the token into a shared `auth_headers` dict and checks validity
      without a lock; here the check, any refresh and the header are done under one lock, so two workers
      hitting an expired token cause one refresh.
    - `handle_error`: the SDK logs the token endpoint's whole answer at ERROR; here one line says what to do.
    """

    credential_settings = OAUTH_CREDENTIALS

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        store: TokenStore,
        configured_refresh_token: str | None,
        configured_api_url: str | None = None,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            auth_endpoint=token_url,
            client_id=client_id,
            client_secret=client_secret,
            default_expiration=DEFAULT_LIFETIME_SECONDS,
        )
        self.logger = logger
        self.store = store
        self.configured_refresh_token = configured_refresh_token or None
        self.configured_api_url = (configured_api_url or "").rstrip("/") or None
        self.clock = clock
        self.expires_at: float | None = None
        self.api_base_url_for_customer: str | None = None
        self.refreshes = 0  # refreshes this instance made (not tokens adopted from the store)
        self._lock = threading.RLock()
        # Its own session, not the SDK's private one (which also retries POSTs on read errors: a refresh Gong
        # may have processed already, i.e. a spent token).
        self.token_session = requests.Session()
        # Each request's token at its last 401: a request is retried again only with a different token.
        self._retried: weakref.WeakKeyDictionary[requests.PreparedRequest, str] = weakref.WeakKeyDictionary()
        self._warned_api_url = False
        # A token obtained because of a 401 that has not served a request yet: a 401 to it is no expiry (the
        # credentials are refused), so it is not renewed again; a refusal of every refresh token is final.
        self._unproven: str | None = None
        self._fatal: AuthError | None = None
        redact_secrets(v for v in (client_secret, configured_refresh_token) if v)

    # The SDK's hooks

    @property
    @override
    def oauth_request_body(self) -> dict[str, t.Any]:
        """Gong's refresh parameters (sent as the query string, see `update_access_token`)."""
        return {"grant_type": "refresh_token", "refresh_token": self.refresh_token}

    @override
    def is_token_valid(self) -> bool:
        if self.access_token is None or self.expires_at is None:
            return False
        return self.expires_at - self.clock() > refresh_margin(self.expires_in)

    @override
    def update_access_token(self) -> None:
        """A new access token (from the store when another process refreshed, else from Gong).

        Raises:
            AuthError: Gong refused every refresh token at hand (one line naming oauth_token_store).
            TapCallsError: the token endpoint or the store failed otherwise.
        """
        with self._lock:
            self._renew(stale=self.access_token)

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.current_token()}"
        return request

    @override
    def handle_error(self, *, content: str, status_code: int | None) -> None:
        return  # the caller raises one line; the endpoint's answer is not logged (it may echo a token)

    # What the streams use

    def current_token(self) -> str:
        """The access token to send now, refreshed first when it is about to expire."""
        with self._lock:
            if not self.is_token_valid():
                self._renew(stale=self.access_token)
            assert self.access_token is not None  # _renew sets it or raises
            return self.access_token

    @property
    def api_base_url(self) -> str:
        """Gong's `api_base_url_for_customer` for the current token (obtained first when there is none)."""
        with self._lock:
            if self.api_base_url_for_customer is None:
                self.current_token()
            return (self.api_base_url_for_customer or self.configured_api_url or DEFAULT_API_URL).rstrip("/")

    def renew_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        """After a 401 on `request`: whether to retry it, with the access token renewed at most once per expiry.

        The token is refreshed only when the request carried the current one (a request that carried an older
        token finds the refreshed one in place when it is sent again), and not when the current one was itself
        obtained for a 401 and has served no request since (then the credentials are refused: no expiry). A
        request is retried once per token it carried, so one that meets two expiries still goes through.
        """
        with self._lock:
            used = _bearer(request)
            if not used or self._retried.get(request) == used:
                return False
            self._retried[request] = used
            if used == self.access_token:
                if used == self._unproven:
                    return False  # refused right after a renewal: wrong credentials or scopes, not an expiry
                self.logger.info("Gong answered 401 to the current access token: renewing it, then retrying")
                self._renew(stale=used)
                self._unproven = self.access_token
            return True

    def confirm(self, request: requests.PreparedRequest) -> None:
        """`request` succeeded: the token it carried works (a later 401 to it is an expiry again)."""
        if self._unproven is not None:
            with self._lock:
                if _bearer(request) == self._unproven:
                    self._unproven = None

    # Inside

    def _renew(self, *, stale: str | None) -> None:
        """Adopt the store's token when it is fresh and not `stale`, else refresh (under the store's lock)."""
        if self._fatal is not None:
            raise self._fatal  # every worker thread stops with the same line, without asking Gong again
        with self.store.locked():
            stored = self.store.read()
            now = self.clock()
            if stored is not None and stored.access_token != stale and stored.fresh(now):
                self._adopt(stored, now)
                self.logger.info(
                    "Gong OAuth: using the access token in oauth_token_store (valid for %.0f s more)",
                    stored.seconds_left(now),
                )
                return
            self._refresh(stored)

    def _refresh(self, stored: Tokens | None) -> None:
        """Refresh with the store's token, else the configured one; on `invalid_grant` re-read the store once,
        then try the configured token if it differs. Called under the store's lock."""
        tried: set[str] = set()
        reread = False
        candidate = stored.refresh_token if stored is not None else self.configured_refresh_token
        while True:
            if candidate is None:
                raise self._reauthorize("it holds no refresh token and oauth_refresh_token is not set")
            tried.add(candidate)
            try:
                tokens = self._post(candidate, previous=stored)
                break
            except RefreshRefused:
                pass
            if not reread:
                reread = True
                again = self.store.read()  # another process (not honouring the lock) may have rotated it
                now = self.clock()
                if again is not None and again.refresh_token not in tried:
                    if again.fresh(now):
                        self._adopt(again, now)
                        return
                    stored, candidate = again, again.refresh_token
                    continue
            if self.configured_refresh_token and self.configured_refresh_token not in tried:
                self.logger.info(
                    "Gong refused the stored refresh token: trying the configured oauth_refresh_token"
                )
                candidate = self.configured_refresh_token
                continue
            raise self._reauthorize(
                "Gong refused its refresh token (invalid_grant: spent, revoked or unknown)"
            )
        # Written before anything uses the new access token: the old refresh token is spent now.
        self.store.write(tokens)
        self._adopt(tokens, self.clock())
        self.refreshes += 1
        self.last_refreshed = datetime.now(UTC)
        self.logger.info(
            "Gong OAuth: new access token, valid for %.0f s; the rotated refresh token is saved in %s",
            tokens.expires_in or 0,
            self.store.path,
        )

    def _reauthorize(self, why: str) -> AuthError:
        self._fatal = AuthError(
            f"Gong OAuth: oauth_token_store {self.store.path}: {why}. Re-authorize the Gong app (docs/oauth.md) "
            "and set oauth_refresh_token to the new refresh token"
        )
        return self._fatal

    def _post(self, refresh_token: str, *, previous: Tokens | None) -> Tokens:
        """One refresh at the token endpoint (tried again on 429, 5xx and connection errors).

        Raises:
            RefreshRefused: `invalid_grant`.
            AuthError: the client credentials are refused (`invalid_client`, 401 without `invalid_grant`).
            TapCallsError: the endpoint keeps failing, or its answer is not a token.
        """
        self.refresh_token = refresh_token
        endpoint = self.auth_endpoint
        started = self.clock()
        response: requests.Response | None = None
        failure = ""
        for attempt in range(REFRESH_TRIES):
            if attempt:
                time.sleep(2.0**attempt)
            try:
                # Gong reads the refresh parameters from the query string (more_endpoints.md §11), not a body.
                response = self.token_session.post(
                    endpoint,
                    params=self.oauth_request_body,
                    auth=HTTPBasicAuth(self.client_id or "", self.client_secret or ""),
                    timeout=60,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                response = None
                failure = type(exc).__name__  # never the exception's text: it holds the URL, token included
                continue
            if response.status_code == 429 or response.status_code >= 500:
                failure = f"HTTP {response.status_code}"
                continue
            break
        else:
            raise TapCallsError(
                f"Gong OAuth token endpoint {endpoint} still failing ({failure}) after {REFRESH_TRIES} tries"
            )
        assert response is not None
        body = _json_object(response)
        error = str(body.get("error") or "")
        if response.status_code >= 400:
            if error == "invalid_grant":
                raise RefreshRefused
            self.handle_error(content=response.text, status_code=response.status_code)
            what = f"{error}: " if error else ""
            if response.status_code == 401 or error == "invalid_client":
                raise AuthError(
                    f"Gong OAuth token endpoint refused the client ({what}HTTP {response.status_code}); "
                    "check oauth_client_id and oauth_client_secret"
                )
            raise TapCallsError(
                f"Gong OAuth token endpoint {endpoint} answered {what}HTTP {response.status_code}"
            )
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise TapCallsError(f"Gong OAuth token endpoint {endpoint} answered without an access_token")
        rotated = body.get("refresh_token")
        redact_secrets(v for v in (access, rotated) if isinstance(v, str))
        if not isinstance(rotated, str) or not rotated:
            self.logger.warning(
                "Gong OAuth: the refresh answer has no new refresh_token; keeping the one used"
            )
            rotated = refresh_token
        lifetime = _number(body.get("expires_in")) or float(DEFAULT_LIFETIME_SECONDS)
        base = body.get("api_base_url_for_customer")
        if not isinstance(base, str) or not base:
            base = (previous.api_base_url if previous else None) or self.configured_api_url or DEFAULT_API_URL
        return Tokens(
            refresh_token=rotated,
            access_token=access,
            expires_at=started + lifetime,
            expires_in=lifetime,
            api_base_url=base.rstrip("/"),
        )

    def _adopt(self, tokens: Tokens, now: float) -> None:
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token
        self.expires_at = tokens.expires_at
        self.expires_in = int(tokens.expires_in) if tokens.expires_in else None
        base = (tokens.api_base_url or "").rstrip("/") or None
        if base and self.configured_api_url and base != self.configured_api_url and not self._warned_api_url:
            self._warned_api_url = True
            self.logger.warning(
                "api_url %s is not used: with OAuth, Gong requests go to the api_base_url_for_customer that "
                "came with the token, %s",
                self.configured_api_url,
                base,
            )
        self.api_base_url_for_customer = base


def _bearer(request: requests.PreparedRequest) -> str:
    return str(request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()


def _json_object(response: requests.Response) -> dict[str, t.Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# One authenticator per run -----------------------------------------------------------------------------------

_shared: weakref.WeakKeyDictionary[object, GongOAuthAuthenticator] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def gong_authenticator(
    stream: SourceStream,
) -> GongOAuthAuthenticator | BearerTokenAuthenticator | BasicAuthenticator:
    """The authenticator of a Gong stream, by the precedence of `credential_kind`.

    OAuth: one `GongOAuthAuthenticator` per run, kept with the run's Gong scheduler (which every Gong stream and
    worker thread shares), so the whole run refreshes once per expiry.
    """
    config = stream.config
    kind = credential_kind(config)
    if kind == "oauth":
        with _shared_lock:
            shared = _shared.get(stream.scheduler)
            if shared is None:
                api_url = str(config.get("api_url") or "")
                shared = _shared[stream.scheduler] = GongOAuthAuthenticator(
                    client_id=str(config["oauth_client_id"]),
                    client_secret=str(config["oauth_client_secret"]),
                    token_url=str(config.get("oauth_token_url") or DEFAULT_TOKEN_URL),
                    store=TokenStore(str(config["oauth_token_store"])),
                    configured_refresh_token=config.get("oauth_refresh_token"),
                    configured_api_url=api_url if api_url.rstrip("/") != DEFAULT_API_URL else None,
                )
            return shared
    if kind == "access_token":
        return BearerTokenAuthenticator(token=config["access_token"])
    return BasicAuthenticator(username=config["access_key"], password=config["access_key_secret"])
