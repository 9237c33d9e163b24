"""Gong v2 endpoint handlers (paths under ``/gong``), faithful to ``reference/gong_api.md``.

What each piece mirrors:

- Auth (§1.1, §1.2): ``Authorization: Basic b64(key:secret)`` or ``Bearer <token>`` (the static token, or one
  ``oauth.OAuthIssuer`` issued: 401 "The access token has expired" on every endpoint once it expired); otherwise 401
  ``{"requestId", "errors": ["Access denied"]}``, but 403 on ``GET /v2/users`` and ``GET /v2/workspaces`` (§4.2).
- Paging (§2.2): fixed 100 per page, ``records.cursor`` absent on the last page, ``currentPageNumber`` from 0.
  POST endpoints read the cursor from the top-level body field only (a query-string cursor is ignored and page 1
  comes back, as Pipedream found); GET endpoints read it from the query string. Cursors are JWT-looking tokens
  bound to the request they came from ("all other request inputs should remain the same") and expire
  (400 ``"cursor has expired"``, §2.2 / §5.7). Pages are computed at request time.
- Empty results (§4.2, §5.12): 404 ``"No calls found corresponding to the provided filters"``.
- ``callIds: []`` is a 400 (§3.3, Dust). Dates are ISO-8601 with ``Z`` or an offset; ``fromDateTime`` is
  inclusive and ``toDateTime`` exclusive, on ``started`` for extensive/transcript (§3.3, §3.4) and on the
  scheduled time of web conferences for ``GET /v2/calls`` (§3.1, §5.1).
- Results come back in a stable order that is not chronological; nothing documents an order (§2.2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from .common import dumps, parse_iso
from .gong_data import GongCall
from .gong_more import GongMoreApi
from .gong_selector import parse_selector
from .http_types import Reply

if TYPE_CHECKING:
    from .common import ByteLRU
    from .gong_data import GongData
    from .gong_more import GongMoreData
    from .http_types import Request
    from .oauth import OAuthIssuer

PAGE_SIZE = 100
NO_CALLS = "No calls found corresponding to the provided filters"
NO_USERS = "No users found corresponding to the provided filters"


_ID_KEY = re.compile(r"(?:^id|Id|Ids)$")


def numeric_ids(value: object, key: str = "") -> object:
    """`value` with every all-digit string under an id key (`id`, `...Id`, `...Ids`) as a JSON number."""
    if isinstance(value, dict):
        return {k: numeric_ids(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [numeric_ids(v, key) for v in value]
    if isinstance(value, str) and value.isdigit() and _ID_KEY.search(key):
        return int(value)
    return value


class BadRequest(Exception):
    """A 400 with the given message."""


class GongHost(Protocol):
    """What the Gong handlers use of the ``server.Sandbox`` that owns them (typed here, not imported)."""

    GONG_ACCESS_KEY: str
    GONG_ACCESS_KEY_SECRET: str
    GONG_ACCESS_TOKEN: str
    oauth: OAuthIssuer
    seed: int
    gong: GongData
    gong_more: GongMoreData
    gong_missing_scopes: set[str]
    gong_scope_denial: str
    gong_revoke_after: int | None
    gong_numeric_ids: bool
    gong_split_transcripts: bool
    cursor_ttl: float
    cache: ByteLRU

    def request_id(self) -> str: ...


class GongApi:
    """Request handling for the Gong side of the sandbox."""

    def __init__(self, sandbox: GongHost) -> None:
        self.sb = sandbox
        self.data = sandbox.gong
        self._cursor_key = hashlib.sha256(f"cursor:{sandbox.seed}:{time.time_ns()}".encode()).digest()
        self._match_cache: OrderedDict[tuple, list[GongCall]] = OrderedDict()
        self._match_lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self.accepted = 0  # requests answered with valid credentials (for `gong_revoke_after`)
        self.more = GongMoreApi(self)

    # ------------------------------------------------------------------------------------------------ helpers
    def error(self, status: int, *messages: str, headers: dict[str, str] | None = None) -> Reply:
        body = {"requestId": self.sb.request_id(), "errors": list(messages)}
        return Reply(status, dumps(body), headers or {})

    def ok(self, body: dict) -> Reply:
        return Reply(200, dumps({"requestId": self.sb.request_id(), **body}))

    def revoke(self) -> None:
        """From now on the credentials are refused everywhere (an expired token, a revoked key)."""
        with self._auth_lock:
            self.sb.gong_revoke_after = min(self.accepted, self.sb.gong_revoke_after or self.accepted)

    def still_valid(self) -> bool:
        """Counts one request with valid credentials; False once `gong_revoke_after` were answered."""
        with self._auth_lock:
            limit = self.sb.gong_revoke_after
            if limit is not None and self.accepted >= limit:
                return False
            self.accepted += 1
            return True

    def authorized(self, req: Request) -> bool:
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            expected = f"{self.sb.GONG_ACCESS_KEY}:{self.sb.GONG_ACCESS_KEY_SECRET}"
            return hmac.compare_digest(decoded, expected)
        if scheme.lower() == "bearer":
            if self.sb.oauth.known(value):
                return self.sb.oauth.use(value)
            return hmac.compare_digest(value, self.sb.GONG_ACCESS_TOKEN)
        return False

    def expired_token(self, req: Request) -> bool:
        """Whether the request carries an OAuth access token the sandbox issued and that has expired."""
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.strip().partition(" ")
        return scheme.lower() == "bearer" and self.sb.oauth.known(value.strip())

    # ------------------------------------------------------------------------------------------------ cursors
    @staticmethod
    def _b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @staticmethod
    def _unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    @staticmethod
    def fingerprint(path: str, inputs: object) -> str:
        canon = json.dumps(
            {"path": path, "inputs": inputs}, sort_keys=True, separators=(",", ":"), default=str
        )
        return hashlib.sha256(canon.encode()).hexdigest()[:32]

    def make_cursor(self, fp: str, page: int, total: int) -> str:
        header = self._b64(b'{"alg":"HS256","typ":"JWT"}')
        payload = {
            "pageSize": PAGE_SIZE,
            "total": total,
            "pageNumber": page,
            "exp": round(time.time() + self.sb.cursor_ttl, 3),
            "fp": fp,
        }
        body = self._b64(json.dumps(payload, separators=(",", ":")).encode())
        sig = self._b64(hmac.new(self._cursor_key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{sig}"

    def read_cursor(self, cursor: object, fp: str) -> int:
        """Page number of a valid cursor; raises BadRequest for an invalid or expired one."""
        if not isinstance(cursor, str):
            raise BadRequest("Invalid cursor")
        parts = cursor.split(".")
        if len(parts) != 3:
            raise BadRequest("Invalid cursor")
        header, body, sig = parts
        expected = self._b64(hmac.new(self._cursor_key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            raise BadRequest("Invalid cursor")
        try:
            payload = json.loads(self._unb64(body))
        except (ValueError, binascii.Error) as exc:
            raise BadRequest("Invalid cursor") from exc
        if time.time() > float(payload.get("exp", 0)):  # checked on decode, like a JWT's exp
            raise BadRequest("cursor has expired")
        if payload.get("fp") != fp:
            raise BadRequest("Invalid cursor")
        return int(payload["pageNumber"])

    def page_records(self, fp: str, page: int, total: int, size: int) -> dict:
        records = {"totalRecords": total, "currentPageSize": size, "currentPageNumber": page}
        if (page + 1) * PAGE_SIZE < total:
            records["cursor"] = self.make_cursor(fp, page + 1, total)
        return records

    # ------------------------------------------------------------------------------------------------ routing
    def handle(self, req: Request) -> Reply:
        path = req.path.rstrip("/") or "/"
        forbidden_style = req.method == "GET" and path in ("/v2/users", "/v2/workspaces")
        routes = {
            ("POST", "/v2/calls/extensive"): self.calls_extensive,
            ("POST", "/v2/calls/transcript"): self.calls_transcript,
            ("GET", "/v2/calls"): self.list_calls,
            ("GET", "/v2/users"): self.list_users,
            ("POST", "/v2/users/extensive"): self.users_extensive,
            ("GET", "/v2/workspaces"): self.workspaces,
            **self.more.routes(),
        }
        handler = routes.get((req.method, path))
        call_match = re.fullmatch(r"/v2/calls/(\d+)", path)
        user_match = re.fullmatch(r"/v2/users/(\d+)", path)
        known_paths = {p for _, p in routes}
        if handler is None and not (req.method == "GET" and (call_match or user_match)):
            if path in known_paths or call_match or user_match:
                return self.error(405, f"Method {req.method} not allowed")
            return self.error(404, "Not found")
        if not self.authorized(req) or not self.still_valid():
            if self.expired_token(req):  # every endpoint: 401 for an issued token that has expired
                return self.error(401, "The access token has expired")
            return self.error(403 if forbidden_style else 401, "Access denied")
        if denied := self.more.denied(req.method, path):
            return denied
        try:
            if handler is not None:
                return handler(req)
            if call_match:
                return self.get_call(call_match.group(1))
            return self.get_user(user_match.group(1))  # type: ignore[union-attr]
        except BadRequest as exc:
            return self.error(400, str(exc))

    # ------------------------------------------------------------------------------------------------ filters
    def _body(self, req: Request) -> dict:
        if req.body_error or not isinstance(req.body, dict):
            raise BadRequest("Malformed request: the body must be a JSON object")
        return req.body

    @staticmethod
    def _date(filt: dict, key: str) -> object:
        value = filt.get(key)
        if value is None:
            return None
        try:
            return parse_iso(value)
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"Invalid {key}: '{value}' is not a valid ISO-8601 date-time") from exc

    @staticmethod
    def _id_list(filt: dict, key: str) -> list[str] | None:
        value = filt.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise BadRequest(f"{key} must be an array of strings")
        if not value:
            raise BadRequest(f"{key} must not be empty")
        return [str(v) for v in value]

    def _filter(self, body: dict, owners: bool) -> tuple:
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise BadRequest("filter is required" if filt is None else "filter must be an object")
        from_dt = self._date(filt, "fromDateTime")
        to_dt = self._date(filt, "toDateTime")
        ws = filt.get("workspaceId")
        if ws is not None and not isinstance(ws, str | int):
            raise BadRequest("workspaceId must be a string")
        call_ids = self._id_list(filt, "callIds")
        users = self._id_list(filt, "primaryUserIds") if owners else None
        return from_dt, to_dt, None if ws is None else str(ws), call_ids, users

    def _matching(
        self,
        kind: str,
        from_dt: object,
        to_dt: object,
        *,
        ws: str | None = None,
        call_ids: list[str] | None = None,
        users: list[str] | None = None,
    ) -> list[GongCall]:
        key = (
            self.data.version,
            kind,
            from_dt,
            to_dt,
            ws,
            None if call_ids is None else tuple(call_ids),
            None if users is None else tuple(users),
        )
        cache = self._match_cache
        with self._match_lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        result = self.data.matching(
            from_dt,  # type: ignore[arg-type]
            to_dt,  # type: ignore[arg-type]
            workspace_id=ws,
            call_ids=call_ids,
            primary_user_ids=users,
            transcripts_only=kind == "transcript",
            effective_date=kind == "list",
        )
        with self._match_lock:
            cache[key] = result
            while len(cache) > 16:
                cache.popitem(last=False)
        return result

    def _page(self, req: Request, inputs: object, cursor: object) -> tuple[str, int]:
        fp = self.fingerprint(req.path, inputs)
        page = 0 if cursor in (None, "") else self.read_cursor(cursor, fp)
        return fp, page

    # ------------------------------------------------------------------------------------------------ calls
    def calls_extensive(self, req: Request) -> Reply:
        """``POST /v2/calls/extensive`` (§3.3)."""
        body = self._body(req)
        from_dt, to_dt, ws, call_ids, users = self._filter(body, owners=True)
        try:
            sel = parse_selector(body.get("contentSelector"))
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        fp, page = self._page(req, {k: v for k, v in body.items() if k != "cursor"}, body.get("cursor"))
        matched = self._matching("extensive", from_dt, to_dt, ws=ws, call_ids=call_ids, users=users)
        chunk = matched[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        if not chunk:
            return self.error(404, NO_CALLS)
        frags = [self.call_fragment(c, sel) for c in chunk]
        head = {
            "requestId": self.sb.request_id(),
            "records": self.page_records(fp, page, len(matched), len(chunk)),
        }
        return Reply(200, dumps(head)[:-1] + b',"calls":[' + b",".join(frags) + b"]}")

    def call_fragment(self, call: GongCall, sel: object) -> bytes:
        key = ("x", call.id, call.revision, call.is_private, sel)
        frag = self.sb.cache.get(key)
        if frag is None:
            frag = dumps(self.data.project(call, self.data.full_call(call), sel))  # type: ignore[arg-type]
            self.sb.cache.put(key, frag)
        return frag

    def calls_transcript(self, req: Request) -> Reply:
        """``POST /v2/calls/transcript`` (§3.4). Private calls are not hidden."""
        body = self._body(req)
        from_dt, to_dt, ws, call_ids, _ = self._filter(body, owners=False)
        fp, page = self._page(req, {k: v for k, v in body.items() if k != "cursor"}, body.get("cursor"))
        matched = self._matching("transcript", from_dt, to_dt, ws=ws, call_ids=call_ids)
        entries: list[tuple[GongCall, slice]] = [(c, slice(None)) for c in matched]
        if self.sb.gong_split_transcripts:
            halves = [(c, len(self.data._transcript(c) or ()) // 2) for c in matched]
            entries = [(c, slice(h, None)) for c, h in halves if h] + [
                (c, slice(None, h) if h else slice(None)) for c, h in halves
            ]
        chunk = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        if not chunk:
            return self.error(404, NO_CALLS)
        frags = []
        for call, part in chunk:
            key = ("t", call.id, call.revision, self.data.transcript_size, part.start, part.stop)
            frag = self.sb.cache.get(key)
            if frag is None:
                frag = dumps({"callId": call.id, "transcript": (self.data._transcript(call) or [])[part]})
                self.sb.cache.put(key, frag)
            frags.append(frag)
        head = {
            "requestId": self.sb.request_id(),
            "records": self.page_records(fp, page, len(entries), len(chunk)),
        }
        return Reply(200, dumps(head)[:-1] + b',"callTranscripts":[' + b",".join(frags) + b"]}")

    def list_calls(self, req: Request) -> Reply:
        """``GET /v2/calls`` (§3.1): both dates required; filters on the scheduled time of web conferences."""
        q = {k: v[-1] for k, v in req.query.items()}
        for name in ("fromDateTime", "toDateTime"):
            if not q.get(name):
                raise BadRequest(f"{name} is required")
        from_dt = self._date(q, "fromDateTime")
        to_dt = self._date(q, "toDateTime")
        ws = q.get("workspaceId") or None
        fp, page = self._page(req, {k: v for k, v in sorted(q.items()) if k != "cursor"}, q.get("cursor"))
        matched = self._matching("list", from_dt, to_dt, ws=ws)
        chunk = matched[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        if not chunk:
            return self.error(404, NO_CALLS)
        calls = [self.data.full_call(c)["metaData"] for c in chunk]
        return self.ok({"records": self.page_records(fp, page, len(matched), len(chunk)), "calls": calls})

    def get_call(self, call_id: str) -> Reply:
        """``GET /v2/calls/{id}`` (§3.2)."""
        call = self.data.get(call_id)
        if call is None:
            return self.error(404, f"Call ID {call_id} was not found")
        return self.ok({"call": self.data.full_call(call)["metaData"]})

    # ------------------------------------------------------------------------------------------------ users
    def _user_page(self, req: Request, users: list[dict], inputs: object, cursor: object) -> Reply:
        fp, page = self._page(req, inputs, cursor)
        chunk = users[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        if not chunk:
            return self.error(404, NO_USERS)
        return self.ok({"records": self.page_records(fp, page, len(users), len(chunk)), "users": chunk})

    def list_users(self, req: Request) -> Reply:
        """``GET /v2/users?cursor=&includeAvatars=`` (§3.5)."""
        q = {k: v[-1] for k, v in req.query.items()}
        avatars = str(q.get("includeAvatars", "false")).lower() == "true"
        users = self.data.users + (self.data.avatar_users if avatars else [])
        return self._user_page(
            req, users, {k: v for k, v in sorted(q.items()) if k != "cursor"}, q.get("cursor")
        )

    def users_extensive(self, req: Request) -> Reply:
        """``POST /v2/users/extensive`` (§3.5): filter on creation time and ids."""
        body = self._body(req)
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise BadRequest("filter is required")
        lo = self._date(filt, "createdFromDateTime")
        hi = self._date(filt, "createdToDateTime")
        ids = self._id_list(filt, "userIds")
        users = self.data.users + (self.data.avatar_users if filt.get("includeAvatars") is True else [])
        out = []
        for u in users:
            created = parse_iso(u["created"])
            if (
                (lo is None or created >= lo)
                and (hi is None or created < hi)
                and (ids is None or u["id"] in ids)
            ):
                out.append(u)
        return self._user_page(req, out, {k: v for k, v in body.items() if k != "cursor"}, body.get("cursor"))

    def get_user(self, user_id: str) -> Reply:
        for u in self.data.users + self.data.avatar_users:
            if u["id"] == user_id:
                return self.ok({"user": u})
        return self.error(404, "User not found")

    def workspaces(self, req: Request) -> Reply:
        """``GET /v2/workspaces`` (§3.6): no paging."""
        return self.ok({"workspaces": self.data.workspaces})
