"""The sandbox HTTP server: routing, auth hand-off, rate limits, injected faults, and the request log.

One ``ThreadingHTTPServer`` on 127.0.0.1 serves three prefixes:

- ``/gong/...``   -> ``gong.GongApi``   (``reference/gong_api.md``)
- ``/clari/...``  -> ``clari.ClariApi`` (``reference/clari_api.md``)
- ``/oauth2/...``  -> ``oauth.OAuthIssuer`` (Gong's token endpoint, ``reference/more_endpoints.md`` §11)
- ``/_sandbox/...`` control endpoints (no auth) for a demo or benchmark that runs the sandbox as a process.

Rate limits mirror Gong §4.1 (429 with an integer ``Retry-After``; a daily quota with a long ``Retry-After``) and,
for Clari (§3: 10/s documented, the throttling response is not), a 429 without ``Retry-After``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import itertools
import json
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .clari import ClariApi
from .clari_data import ClariData
from .clari_more import ClariMoreData
from .common import ByteLRU, dumps, iso_utc_ms, parse_iso
from .gong import GongApi, numeric_ids
from .gong_data import GongData
from .gong_more import GongMoreData
from .http_types import Reply, Request
from .oauth import OAuthIssuer

if TYPE_CHECKING:
    from collections.abc import Iterable

FAULT_KINDS = ("429", "status", "reset", "slow", "malformed", "expire_cursor")
SOURCES = ("gong", "clari")


@dataclass(frozen=True)
class Served:
    """One request the sandbox answered (or dropped: ``status == 0``)."""

    source: str  # "gong" | "clari" | "control"
    method: str
    path: str  # without the /gong or /clari prefix and without the query string
    query: dict[str, list[str]]
    body: Any  # parsed JSON body, or None
    status: int
    t_start: float  # time.monotonic()
    t_end: float  # when the response was ready to send (logged just before it is written)

    def to_json(self, bodies: bool = False) -> dict:
        out = dataclasses.asdict(self)
        if not bodies:
            out.pop("body")
        return out


@dataclass
class Fault:
    source: str
    kind: str
    path: str | None
    remaining: int
    params: dict


class RateLimiter:
    """At most ``capacity`` requests may start within any sliding window of ``window`` seconds.

    For a rate ``r`` >= 1 the window is one second and the capacity ``floor(r)``; for slower rates the capacity
    is 1 and the window ``1/r``. Rejected requests do not count.
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.capacity = max(1, int(rate))
        self.window = self.capacity / rate
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def allow(self, now: float) -> bool:
        with self._lock:
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) >= self.capacity:
                return False
            self._times.append(now)
            return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds 40 ms a request.
    disable_nagle_algorithm = True
    server_version = "calls-sandbox/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.sandbox._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    def do_POST(self) -> None:
        self.server.sandbox._serve(self)

    def do_PUT(self) -> None:
        self.server.sandbox._serve(self)

    def do_DELETE(self) -> None:
        self.server.sandbox._serve(self)

    def do_PATCH(self) -> None:
        self.server.sandbox._serve(self)


class Sandbox:
    """A fake Gong + Clari Copilot API on 127.0.0.1 (see the package docstring for the whole API)."""

    GONG_ACCESS_KEY = "sandbox-access-key"
    GONG_ACCESS_KEY_SECRET = "sandbox-access-key-secret"  # noqa: S105
    GONG_ACCESS_TOKEN = "sandbox-oauth-token"  # noqa: S105
    CLARI_API_KEY = "sandbox-clari-key"
    CLARI_API_PASSWORD = "sandbox-clari-password"  # noqa: S105

    def __init__(
        self,
        seed: int = 1,
        now: datetime | None = None,
        *,
        gong_calls: int = 1250,
        gong_span_days: float = 400,
        gong_users: int = 130,
        gong_workspaces: int = 2,
        gong_time_zone: str = "US/Pacific",
        gong_missing_scopes: Iterable[str] = (),
        gong_scope_denial: str = "named",
        gong_revoke_after: int | None = None,
        gong_numeric_ids: bool = False,
        private_ratio: float = 0.05,
        imported_ratio: float = 0.03,
        transcript_ratio: float = 0.9,
        transcript_size: str = "small",
        clari_calls: int = 300,
        clari_span_days: float = 400,
        clari_details_missing_ratio: float = 0.01,
        clari_scorecards: int = 150,
        clari_scorecard_span_days: float | None = None,
        clari_topics: int = 12,
        clari_scorecard_templates: int = 4,
        clari_template_key: str = "scoreCardTemplates",
        clari_max_payload: int = 6 * 1024 * 1024,
        gong_split_transcripts: bool = False,
        clari_unstable_order: bool = False,
        gong_rate_limit: float | None = None,
        gong_daily_quota: int | None = None,
        gong_quota_retry_after: int = 3600,
        clari_rate_limit: float | None = None,
        clari_latency: float = 0.0,
        gong_latency: float = 0.0,
        cursor_ttl: float = 600.0,
        oauth_expires_in: float = 86_400.0,
        oauth_token_uses: int | None = None,
        cache_bytes: int = 64 * 1024 * 1024,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if now is None:
            now = datetime.now(UTC).replace(microsecond=0)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.seed = seed
        self.now = now
        self.host = host
        self.port = port
        self.gong = GongData(
            seed=seed,
            now=now,
            calls=gong_calls,
            span_days=gong_span_days,
            users=gong_users,
            workspaces=gong_workspaces,
            private_ratio=private_ratio,
            imported_ratio=imported_ratio,
            transcript_ratio=transcript_ratio,
            transcript_size=transcript_size,
        )
        # The company's zone (stats answers name it) and the scopes the key lacks (a set tests may change).
        self.gong_more = GongMoreData(self.gong, seed=seed, time_zone=gong_time_zone)
        self.gong_missing_scopes = set(gong_missing_scopes)
        # How a missing scope is refused: "named" (401 naming the scope, as Gong does for OAuth apps) or
        # "plain" (401 "Access denied", as the spec documents for Basic keys: the scope is not named).
        if gong_scope_denial not in ("named", "plain"):
            raise ValueError("gong_scope_denial must be 'named' or 'plain'")
        self.gong_scope_denial = gong_scope_denial
        # The credentials stop working (a token that expired, a key revoked) once this many Gong requests were
        # answered with them: every later one gets Gong's "Access denied" (`revoke_gong_credentials()` at once).
        self.gong_revoke_after = gong_revoke_after
        # Gong's spec types ids as int64: when set, every id that is all digits goes out as a JSON number, at
        # every depth (`id`, `...Id`, `...Ids` keys), as a client generated from the spec would see them.
        self.gong_numeric_ids = gong_numeric_ids
        self.clari = ClariData(
            seed=seed,
            now=now,
            calls=clari_calls,
            span_days=clari_span_days,
            private_ratio=private_ratio,
            transcript_size=transcript_size,
            details_missing_ratio=clari_details_missing_ratio,
        )
        self.clari_more = ClariMoreData(
            seed,
            now,
            self.clari,
            scorecards=clari_scorecards,
            topics=clari_topics,
            templates=clari_scorecard_templates,
            template_key=clari_template_key,
            scorecard_span_days=clari_scorecard_span_days,
        )
        self.clari_max_payload = clari_max_payload
        # Gong promises no one-entry-per-call in /v2/calls/transcript: when set, each transcript of two or more
        # monologues comes as two entries, its second half first (listed ahead of all first halves).
        self.gong_split_transcripts = gong_split_transcripts
        # Clari promises no order among calls with equal `time`: when set, sortTime orders by the hour of
        # `time` only, with a new random order within each hour on every request.
        self.clari_unstable_order = clari_unstable_order
        self.gong_quota_retry_after = gong_quota_retry_after
        self.gong_daily_quota = gong_daily_quota
        self.latency = {"gong": gong_latency, "clari": clari_latency}
        self.limiters = {
            "gong": RateLimiter(gong_rate_limit) if gong_rate_limit else None,
            "clari": RateLimiter(clari_rate_limit) if clari_rate_limit else None,
        }
        self.cursor_ttl = cursor_ttl
        self.cache = ByteLRU(cache_bytes)
        self._quota_used = 0
        self._quota_day_start: float | None = None
        self._lock = threading.Lock()
        self._log: list[Served] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._conns: set[socket.socket] = set()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # tracebacks of handler crashes (served as 500)
        # Gong OAuth (its token endpoint lives on this server too; api_base_url_for_customer is gong_url).
        self.oauth = OAuthIssuer(
            expires_in=oauth_expires_in, token_uses=oauth_token_uses, base_url=lambda: self.gong_url
        )
        self._gong_api = GongApi(self)
        self._clari_api = ClariApi(self)

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self, port: int | None = None) -> Sandbox:
        """Bind and serve from a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stop.clear()
        server = _Server((self.host, self.port if port is None else port), _Handler)
        server.sandbox = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"calls-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections, release the port."""
        server = self._server
        if server is None:
            return
        self._stop.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gong_url(self) -> str:
        return self.url + "/gong"

    @property
    def clari_url(self) -> str:
        return self.url + "/clari"

    def gong_config(self) -> dict:
        return {
            "access_key": self.GONG_ACCESS_KEY,
            "access_key_secret": self.GONG_ACCESS_KEY_SECRET,
            "api_url": self.gong_url,
        }

    @property
    def oauth_token_url(self) -> str:
        return self.url + "/oauth2/generate-customer-token"

    def gong_oauth_config(self, token_store: str, refresh_token: str | None = None) -> dict:
        """The tap's Gong OAuth settings: the sandbox app's client, a refresh token (a new authorization when
        none is given) and `token_store`. No api_url: the token's api_base_url_for_customer names the host."""
        return {
            "oauth_client_id": OAuthIssuer.CLIENT_ID,
            "oauth_client_secret": OAuthIssuer.CLIENT_SECRET,
            "oauth_refresh_token": refresh_token or self.oauth.authorize(),
            "oauth_token_store": token_store,
            "oauth_token_url": self.oauth_token_url,
        }

    def clari_config(self) -> dict:
        return {
            "clari_api_key": self.CLARI_API_KEY,
            "clari_api_password": self.CLARI_API_PASSWORD,
            "clari_api_url": self.clari_url,
        }

    # ------------------------------------------------------------------------------------------ log, faults
    @property
    def log(self) -> list[Served]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def stats(self) -> dict[tuple[str, str, int], int]:
        """Number of served requests per ``(source, path, status)``."""
        counts: collections.Counter = collections.Counter((s.source, s.path, s.status) for s in self.log)
        return dict(counts)

    def inject(self, source: str, kind: str, path: str | None = None, count: int = 1, **params: Any) -> None:
        """Queue a fault for the next ``count`` requests to ``source`` (and ``path``, if given)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        if kind == "status" and "code" not in params:
            raise ValueError("a 'status' fault needs code=...")
        if kind == "slow" and "delay" not in params:
            raise ValueError("a 'slow' fault needs delay=...")
        with self._lock:
            self._faults.append(Fault(source, kind, path, int(count), dict(params)))

    def pending_faults(self) -> list[dict]:
        with self._lock:
            return [dataclasses.asdict(f) for f in self._faults]

    def _take_fault(self, req: Request, source: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.source != source or (fault.path is not None and fault.path != req.path):
                    continue
                wanted = fault.params.get("body_filter")
                if wanted is not None:
                    sent = req.body.get("filter") if isinstance(req.body, dict) else None
                    if not isinstance(sent, dict) or any(sent.get(k) != v for k, v in wanted.items()):
                        continue
                if fault.kind == "expire_cursor" and req.cursor in (None, ""):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def request_id(self) -> str:
        n = next(self._ids)
        digest = hashlib.sha1(f"{self.seed}:{n}".encode(), usedforsecurity=False).digest()
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        value = int.from_bytes(digest[:12], "big")
        return "".join(alphabet[(value >> (5 * i)) % 36] for i in range(19))

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ------------------------------------------------------------------------------------------ serving
    def _serve(self, h: _Handler) -> None:
        t_start = time.monotonic()
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        full_path = split.path
        if full_path.startswith("/gong/") or full_path == "/gong":
            source, path = "gong", full_path[5:] or "/"
        elif full_path.startswith("/clari/") or full_path == "/clari":
            source, path = "clari", full_path[6:] or "/"
        elif full_path.startswith("/oauth2/"):
            source, path = "oauth", full_path
        else:
            source, path = "control", full_path
        req = Request(h.command, path, query, h.headers, raw)
        if raw:
            try:
                req.body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                req.body_error = True
        try:
            reply, drop = self._dispatch(req, source)
        except Exception:  # a sandbox bug: answer like Gong's 500 and remember the traceback
            self.errors.append(traceback.format_exc())
            print(self.errors[-1], file=sys.stderr)
            reply, drop = (
                Reply(
                    500,
                    dumps(
                        {
                            "requestId": self.request_id(),
                            "errors": ["Failed to complete the operation due to an unexpected error"],
                        }
                    ),
                ),
                False,
            )
        # Log before the last byte goes out, so a client that has its answer always finds it in the log.
        entry = Served(
            source,
            req.method,
            path,
            query,
            None if req.body_error else req.body,
            0 if drop else reply.status,
            t_start,
            time.monotonic(),
        )
        with self._lock:
            self._log.append(entry)
        if drop:
            self._drop(h)
        else:
            with contextlib.suppress(OSError):
                self._write(h, reply)

    @staticmethod
    def _write(h: _Handler, reply: Reply) -> None:
        h.send_response(reply.status)
        h.send_header("Content-Type", reply.headers.pop("Content-Type", "application/json"))
        h.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(reply.body)
        h.wfile.flush()

    @staticmethod
    def _drop(h: _Handler) -> None:
        """Close the socket with an RST and no response (a connection reset)."""
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _dispatch(self, req: Request, source: str) -> tuple[Reply, bool]:
        if source == "control":
            return self._control(req), False
        if source == "oauth":
            return self.oauth.handle(req), False
        reply, drop = self._decide(req, source)
        self._sleep(self.latency[source])  # added to every response, errors included
        return reply, drop

    def _decide(self, req: Request, source: str) -> tuple[Reply, bool]:
        """Rate limit, quota, queued fault, or the API's own answer (in that order)."""
        now = time.monotonic()
        limiter = self.limiters[source]
        if limiter is not None and not limiter.allow(now):
            if source == "gong":
                return self._gong_error(429, "Too many requests", {"Retry-After": "1"}), False
            return Reply(429, dumps({"errorMessage": "Too many requests"})), False
        if source == "gong" and self.gong_daily_quota is not None:
            with self._lock:
                if self._quota_day_start is None or now - self._quota_day_start >= 86400:
                    self._quota_day_start, self._quota_used = now, 0
                self._quota_used += 1
                over = self._quota_used > self.gong_daily_quota
            if over:
                return self._gong_error(
                    429,
                    "Too many requests: daily API quota exceeded",
                    {"Retry-After": str(self.gong_quota_retry_after)},
                ), False
        fault = self._take_fault(req, source)
        malformed = False
        if fault is not None:
            if fault.kind == "reset":
                return Reply(0, b""), True
            if fault.kind == "429":
                self._sleep(float(fault.params.get("delay", 0)))
                retry_after = fault.params.get("retry_after", 1)
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                if source == "gong":
                    return self._gong_error(429, "Too many requests", headers), False
                return Reply(429, dumps({"errorMessage": "Too many requests"}), headers), False
            if fault.kind == "status":
                return self._status_fault(source, int(fault.params["code"]), fault.params.get("body")), False
            if fault.kind == "expire_cursor":
                return self._gong_error(400, "cursor has expired"), False
            if fault.kind == "slow":
                self._sleep(float(fault.params["delay"]))
            malformed = fault.kind == "malformed"
        api = self._gong_api if source == "gong" else self._clari_api
        reply = api.handle(req)
        if source == "gong" and self.gong_numeric_ids and reply.status == 200:
            reply = Reply(200, dumps(numeric_ids(json.loads(reply.body))), reply.headers)
        if malformed:
            body = (
                reply.body if len(reply.body) > 2 else dumps({"requestId": self.request_id(), "errors": []})
            )
            reply = Reply(200, body[: max(1, len(body) // 2)], reply.headers)
        return reply, False

    def _gong_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        return Reply(
            status, dumps({"requestId": self.request_id(), "errors": [message]}), dict(headers or {})
        )

    def _status_fault(self, source: str, code: int, body: object) -> Reply:
        if isinstance(body, str):
            return Reply(code, body.encode(), {"Content-Type": "text/html"})
        if body is not None:
            return Reply(code, dumps(body))
        texts = {
            500: "Failed to complete the operation due to an unexpected error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
            401: "Access denied",
            403: "Access denied",
        }
        text = texts.get(code, f"HTTP {code}")
        if source == "gong":
            return self._gong_error(code, text)
        return Reply(code, dumps({"errorMessage": text}))

    # ------------------------------------------------------------------------------------------ control
    @property
    def gong_accepted(self) -> int:
        """Gong requests answered with valid credentials so far (what `gong_revoke_after` counts)."""
        return self._gong_api.accepted

    def revoke_gong_credentials(self) -> None:
        """Gong refuses the credentials from now on ("Access denied"), as after a key is revoked."""
        self._gong_api.revoke()

    def truth(self) -> dict:
        """Ids the sandbox holds (what a complete extraction should find)."""
        calls = self.gong.calls
        clari = self.clari.index()
        out = {
            "now": self.now.isoformat(),
            "gong_call_ids": [c.id for c in calls if not c.is_private],
            "gong_private_call_ids": [c.id for c in calls if c.is_private],
            "gong_transcript_call_ids": [c.id for c in calls if c.has_transcript],
            "gong_imported_call_ids": [c.id for c in calls if c.imported],
            "gong_user_ids": self.gong.user_ids(),
            # Calls /call-details does not know (404) are skipped by a tap, as Clari advises.
            "clari_call_ids": [
                c.id for c in clari if not c.is_private and c.id not in self.clari.details_missing
            ],
            "clari_private_call_ids": [c.id for c in clari if c.is_private],
            "clari_details_missing_ids": sorted(self.clari.details_missing),
        }
        out["counts"] = {k[:-4]: len(v) for k, v in out.items() if k.endswith("_ids")}
        return out

    def _control(self, req: Request) -> Reply:
        q = {k: v[-1] for k, v in req.query.items()}
        body = req.body if isinstance(req.body, dict) else {}
        route = (req.method, req.path.rstrip("/"))
        if route == ("GET", "/_sandbox/log"):
            bodies = q.get("bodies") in ("1", "true")
            return Reply(200, dumps([s.to_json(bodies) for s in self.log]))
        if route == ("GET", "/_sandbox/stats"):
            rows = [
                {"source": s, "path": p, "status": st, "count": n}
                for (s, p, st), n in sorted(self.stats().items())
            ]
            totals: collections.Counter = collections.Counter()
            for row in rows:
                totals[row["source"]] += row["count"]
            return Reply(200, dumps({"counts": rows, "totals": dict(totals)}))
        if route == ("POST", "/_sandbox/clear"):
            self.clear_log()
            return Reply(200, dumps({"ok": True}))
        if route == ("GET", "/_sandbox/truth"):
            return Reply(200, dumps(self.truth()))
        if route == ("POST", "/_sandbox/oauth/authorize"):
            return Reply(
                200,
                dumps(
                    {
                        "refresh_token": self.oauth.authorize(),
                        "client_id": OAuthIssuer.CLIENT_ID,
                        "client_secret": OAuthIssuer.CLIENT_SECRET,
                        "token_url": self.oauth_token_url,
                    }
                ),
            )
        if route == ("GET", "/_sandbox/oauth"):
            issuer = self.oauth
            return Reply(
                200,
                dumps({"refreshes": issuer.refreshes, "refused": issuer.refused, "expired": issuer.expired}),
            )
        if route == ("GET", "/_sandbox/sentences"):
            # Ground truth for transcript_sentences at benchmark sizes: the sentences of every public call.
            calls = [c for c in self.gong.calls if not c.is_private and c.has_transcript]
            count = sum(len(m["sentences"]) for c in calls for m in self.gong._transcript(c) or ())
            return Reply(200, dumps({"gong_sentences": count, "gong_transcripts": len(calls)}))
        if route == ("GET", "/_sandbox/health"):
            return Reply(200, dumps({"ok": True, "url": self.url}))
        try:
            if route == ("POST", "/_sandbox/inject"):
                params = {k: v for k, v in body.items() if k not in ("source", "kind", "path", "count")}
                self.inject(
                    body["source"], body["kind"], body.get("path"), int(body.get("count", 1)), **params
                )
                return Reply(200, dumps({"ok": True, "pending": self.pending_faults()}))
            if route == ("POST", "/_sandbox/gong/add_calls"):
                flags = {k: v for k, v in body.items() if k not in ("n", "started_from", "started_to")}
                new = self.gong.add_calls(
                    int(body["n"]), parse_iso(body["started_from"]), parse_iso(body["started_to"]), **flags
                )
                return Reply(200, dumps({"ids": [c.id for c in new]}))
            if route == ("POST", "/_sandbox/gong/update_call"):
                changes = {k: v for k, v in body.items() if k != "id"}
                self.gong.update_call(body["id"], **changes)
                return Reply(200, dumps({"ok": True}))
            if route == ("POST", "/_sandbox/clari/add_calls"):
                new = self.clari.add_calls(
                    int(body["n"]), parse_iso(body["modified_from"]), parse_iso(body["modified_to"])
                )
                return Reply(200, dumps({"ids": [c["id"] for c in new]}))
            if route == ("POST", "/_sandbox/clari/delete_calls"):
                return Reply(200, dumps({"deleted": self.clari.delete_calls([str(i) for i in body["ids"]])}))
            if route == ("POST", "/_sandbox/clari/modify"):
                at = parse_iso(body["at"])
                self.clari.modify(body["ids"], at)
                return Reply(200, dumps({"ok": True, "at": iso_utc_ms(at)}))
            if (more := self._gong_api.more.control(route, body)) is not None:
                return Reply(200, more)
        except (KeyError, TypeError, ValueError) as exc:
            return Reply(400, dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return Reply(404, dumps({"error": f"unknown control endpoint {req.method} {req.path}"}))
