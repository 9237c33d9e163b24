"""Clari Copilot endpoint handlers (paths under ``/clari``), faithful to ``reference/clari_api.md``.

What each piece mirrors:

- Auth (§1): headers ``X-Api-Key`` and ``X-Api-Password`` (case-insensitive names). Missing either: 401
  ``{"errorMessage":"Credentials not provided!, see documentation: https://api-doc.copilot.clari.com"}`` (the
  observed probe); wrong: 401 ``{"errorMessage":"Invalid credentials"}`` (the real text is unconfirmed).
- ``GET /calls`` (§2.1): offset paging with ``skip`` (0..10000) and ``limit`` (1..100, default 25), non-integers
  are a 400; strict ``filterModifiedGt/Lt`` and ``filterTimeGt/Lt``; repeated-key multi-value filters; private
  calls hidden unless ``includePrivate``; ``pagination`` ``{"matched", "nextPageSkip"?, "hasMore"}`` with
  ``nextPageSkip`` absent on the last page, and no pagination object with ``includePagination=false``. The
  default order is by id (deterministic, not by ``last_modified_time``). Fields without a value are omitted,
  ``audio_url`` / ``video_url`` are present as null unless ``includeAudio`` / ``includeVideo``.
- ``GET /call-details?id=`` (§2.2): ``{"call": {...}}`` with ``transcript``, ``summary`` (timestamps as numeric
  strings, sometimes ``"NaN"``) and ``competitor_sentiments``; 404 ``{"errorMessage": "Not found"}``.
- ``GET /users`` (§2.3): not paginated.
- Responses over the 6 MB AWS payload cap (§3) come back as 502.
"""

from __future__ import annotations

import hmac
import random
from typing import TYPE_CHECKING, Protocol

from .clari_data import ClariCall
from .clari_more import ClariMoreApi
from .common import dumps, parse_iso
from .http_types import Reply

if TYPE_CHECKING:
    from .clari_data import ClariData
    from .clari_more import ClariMoreData
    from .common import ByteLRU
    from .http_types import Request

NO_CREDENTIALS = "Credentials not provided!, see documentation: https://api-doc.copilot.clari.com"
BOOL_VALUES = {"true": True, "false": False, "1": True, "0": False}


class ClariBadRequest(Exception):
    """A 400 with the given message."""


class ClariHost(Protocol):
    """What the Clari handlers use of the ``server.Sandbox`` that owns them (typed here, not imported)."""

    CLARI_API_KEY: str
    CLARI_API_PASSWORD: str
    clari: ClariData
    clari_more: ClariMoreData
    clari_max_payload: int
    clari_unstable_order: bool
    cache: ByteLRU


class ClariApi:
    """Request handling for the Clari Copilot side of the sandbox."""

    def __init__(self, sandbox: ClariHost) -> None:
        self.sb = sandbox
        self.data = sandbox.clari
        self.more = ClariMoreApi(self, sandbox.clari_more)

    @staticmethod
    def error(status: int, message: str) -> Reply:
        return Reply(status, dumps({"errorMessage": message}))

    def handle(self, req: Request) -> Reply:
        path = req.path.rstrip("/") or "/"
        routes = {"/calls": self.list_calls, "/call-details": self.call_details, "/users": self.users}
        routes |= self.more.routes()
        handler = routes.get(path)
        if handler is None:
            return self.error(404, "Not found")
        key = req.headers.get("X-Api-Key")
        password = req.headers.get("X-Api-Password")
        if not key or not password:
            return self.error(401, NO_CREDENTIALS)
        if not (
            hmac.compare_digest(key, self.sb.CLARI_API_KEY)
            and hmac.compare_digest(password, self.sb.CLARI_API_PASSWORD)
        ):
            return self.error(401, "Invalid credentials")
        if req.method != "GET":
            return self.error(405, "Method not allowed")
        try:
            reply = handler(req)
        except ClariBadRequest as exc:
            return self.error(400, str(exc))
        if len(reply.body) > self.sb.clari_max_payload:
            # AWS Lambda's response-size limit surfaces as a gateway error (§3, S7).
            return Reply(502, dumps({"message": "Internal server error"}))
        return reply

    # ------------------------------------------------------------------------------------------------ params
    @staticmethod
    def _one(req: Request, name: str) -> str | None:
        values = req.query.get(name)
        return values[-1] if values else None

    def _int(self, req: Request, name: str, default: int, lo: int, hi: int) -> int:
        raw = self._one(req, name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError as exc:
            raise ClariBadRequest(f"{name} must be an integer") from exc
        if not lo <= value <= hi:
            raise ClariBadRequest(f"{name} must be between {lo} and {hi}")
        return value

    def _bool(self, req: Request, name: str, default: bool) -> bool:
        raw = self._one(req, name)
        if raw is None or raw == "":
            return default
        value = BOOL_VALUES.get(raw.strip().lower())
        if value is None:
            raise ClariBadRequest(f"{name} must be one of true, false, 1, 0")
        return value

    def _date(self, req: Request, name: str) -> object:
        raw = self._one(req, name)
        if raw is None or raw == "":
            return None
        try:
            return parse_iso(raw)
        except ValueError as exc:
            raise ClariBadRequest(f"{name} must be an ISO date-time, eg: 2020-01-01T00:00:00Z") from exc

    def _sort(self, req: Request, name: str) -> str | None:
        raw = self._one(req, name)
        if raw is None or raw == "":
            return None
        if raw not in ("asc", "desc"):
            raise ClariBadRequest(f"{name} must be asc or desc")
        return raw

    # ------------------------------------------------------------------------------------------------ calls
    def list_calls(self, req: Request) -> Reply:
        """``GET /calls`` (§2.1)."""
        skip = self._int(req, "skip", 0, 0, 10000)
        limit = self._int(req, "limit", 25, 1, 100)
        mod_gt, mod_lt = self._date(req, "filterModifiedGt"), self._date(req, "filterModifiedLt")
        time_gt, time_lt = self._date(req, "filterTimeGt"), self._date(req, "filterTimeLt")
        dur_gt = self._int(req, "filterDurationGt", -1, 0, 7200)
        dur_lt = self._int(req, "filterDurationLt", 10**9, 0, 7200)
        sort_time, sort_processed = self._sort(req, "sortTime"), self._sort(req, "sortProcessed")
        include_private = self._bool(req, "includePrivate", False)
        include_pagination = self._bool(req, "includePagination", True)
        audio = self._bool(req, "includeAudio", False)
        video = self._bool(req, "includeVideo", False)
        statuses = set(req.query.get("filterStatus", []))
        types = set(req.query.get("filterType", []))
        users = {u.lower() for u in req.query.get("filterUser", [])}
        attendees = {a.lower() for a in req.query.get("filterAttendees", [])}
        source_ids = set(req.query.get("filterSourceId", []))

        calls = []
        for c in self.data.index():
            if (c.is_private and not include_private) or (
                mod_gt is not None and not c.last_modified > mod_gt
            ):
                continue
            if (mod_lt is not None and not c.last_modified < mod_lt) or (
                time_gt is not None and not c.time > time_gt
            ):
                continue
            if (time_lt is not None and not c.time < time_lt) or (statuses and c.status not in statuses):
                continue
            if (types and c.type not in types) or not dur_gt < c.duration < dur_lt:
                continue
            if users and not users & {self.data.users[i]["email"] for i in c.user_idx}:
                continue
            if attendees or source_ids:
                item = self.data.list_item(c)
                emails = {p.get("email", "").lower() for p in item["externalParticipants"]}
                if (attendees and not attendees & emails) or (
                    source_ids and item.get("source_id") not in source_ids
                ):
                    continue
            calls.append(c)
        if sort_time and self.sb.clari_unstable_order:
            shuffle = random.Random()
            hour = {
                c.id: (c.time.replace(minute=0, second=0, microsecond=0), shuffle.random()) for c in calls
            }
            calls.sort(key=lambda c: hour[c.id], reverse=sort_time == "desc")
        elif sort_time:
            calls.sort(key=lambda c: (c.time, c.id), reverse=sort_time == "desc")
        elif sort_processed:
            calls.sort(key=lambda c: (c.last_modified, c.id), reverse=sort_processed == "desc")
        chunk = calls[skip : skip + limit]
        frags = [self._fragment("l", c, audio, video) for c in chunk]
        out = b'{"calls":[' + b",".join(frags) + b"]"
        if include_pagination:
            pagination: dict = {"matched": len(calls)}
            has_more = skip + len(chunk) < len(calls)
            if has_more:
                pagination["nextPageSkip"] = skip + len(chunk)
            pagination["hasMore"] = has_more
            out += b',"pagination":' + dumps(pagination)
        return Reply(200, out + b"}")

    def _fragment(self, kind: str, call: ClariCall, audio: bool, video: bool) -> bytes:
        key = (
            "clari",
            kind,
            call.id,
            call.revision,
            call.last_modified,
            audio,
            video,
            self.data.transcript_size,
        )
        frag = self.sb.cache.get(key)
        if frag is None:
            if kind == "l":
                frag = dumps(self.data.list_item(call, audio, video))
            else:
                frag = dumps(self.data.details(call, audio, video))
            self.sb.cache.put(key, frag)
        return frag

    def call_details(self, req: Request) -> Reply:
        """``GET /call-details?id=`` (§2.2)."""
        call_id = self._one(req, "id")
        if not call_id:
            raise ClariBadRequest("id is required")
        audio = self._bool(req, "includeAudio", False)
        video = self._bool(req, "includeVideo", False)
        call = self.data.get(call_id)
        if call is None or call_id in self.data.details_missing:
            return self.error(404, "Not found")
        return Reply(200, b'{"call":' + self._fragment("d", call, audio, video) + b"}")

    def users(self, req: Request) -> Reply:
        """``GET /users`` (§2.3): all current users, no paging."""
        return Reply(200, dumps({"users": self.data.users}))
