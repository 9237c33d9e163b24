"""Deterministic generators for the sandbox's Gong and Clari Copilot data.

Only a lightweight index is kept in memory (one small object per call). Everything heavy (Gong ``CallData``
blocks, transcripts, Clari call details) is generated lazily from a ``random.Random`` seeded with the sandbox
seed and the call id, so the same call always produces the same content, whichever order it is requested in.
Encoded JSON is cached in byte-bounded LRUs.

Shapes follow ``reference/gong_api.md`` §2-3 and ``reference/clari_api.md`` §2, including the awkward parts:
string ids of up to 19 digits, timestamps with offsets, absent keys (imported calls without ``parties``, Clari
fields without a value omitted), mixed-type CRM field values, ``"NaN"`` summary timestamps.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import struct
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from operator import attrgetter

# --------------------------------------------------------------------------------------------------------------
# word pools

FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Samir",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bea",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Rafael",
    "Sofia",
    "Tomas",
    "Ulla",
    "Vera",
    "Will",
    "Yara",
    "Zain",
    "José",
    "Zoë",
]
LAST_NAMES = [
    "Adams",
    "Becker",
    "Chen",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zimmermann",
    "Novak",
    "Silva",
    "Moreau",
    "Haddad",
    "Kim",
    "Lopez",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark Industries",
    "Wayne Enterprises",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Black Mesa",
    "Oscorp",
    "Pied Piper",
    "Massive Dynamic",
    "Gringotts",
    "Monsters Inc",
    "Dunder Mifflin",
    "Nakatomi",
    "Prestige Worldwide",
    "Bluth Co",
    "Sterling Cooper",
]
TITLES = [
    "Account Executive",
    "Enterprise Account Executive",
    "SDR",
    "BDR",
    "Sales Manager",
    "VP Sales",
    "Customer Success Manager",
    "Solutions Engineer",
    "Head of RevOps",
    "CFO",
    "CTO",
    "Procurement Lead",
    "Director of Engineering",
    "Product Manager",
    "IT Administrator",
    "Chief of Staff",
]
CALL_KINDS = [
    "Discovery",
    "Demo",
    "Intro",
    "Pricing review",
    "Technical deep dive",
    "QBR",
    "Negotiation",
    "Onboarding",
    "Check-in",
    "Security review",
    "Renewal",
    "Kickoff",
    "Follow-up",
]
TOPIC_NAMES = [
    "Pricing",
    "Objections",
    "Next Steps",
    "Small Talk",
    "Product Demo",
    "Integrations",
    "Security",
    "Timeline",
    "Budget",
    "Competition",
    "Call Setup",
    "Use Cases",
    "Contract",
]
TRACKERS = [
    ("Competitors", "KEYWORD", ["Walmart", "Globex", "Initech"]),
    ("Pricing", "KEYWORD", ["price", "discount", "budget"]),
    ("Security", "KEYWORD", ["SOC 2", "SSO", "GDPR"]),
    ("Next steps", "SMART", ["send over", "follow up", "next week"]),
    ("Objection handling", "SMART", ["too expensive", "not a priority"]),
]
STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
_WORDS = (  # noqa: SIM905
    "we could look at the rollout plan next quarter and make sure the team has everything it needs to "
    "integrate with your CRM pricing depends on the number of seats and the support tier you pick "
    "honestly the main concern is security review timelines so let me loop in our engineer who owns SSO "
    "that sounds great can you send over the deck after the call I think budget is approved for this year "
    "but procurement usually takes a few weeks right so what does success look like for you in six months "
    "our current tool is too expensive and nobody really uses the dashboards okay let's schedule a follow up"
).split()


def _float32(x: float) -> float:
    """Round-trip through a 32-bit float, giving values like 98.23999786376953 (as Clari sends them)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def iso_utc_ms(dt: datetime) -> str:
    """Clari style: ``2025-06-10T10:29:51.937Z``."""
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def iso_offset(dt: datetime, tz: timezone, ms: bool = False) -> str:
    """Gong style: ISO-8601 with the workspace's offset, e.g. ``2018-02-17T02:30:00-08:00``."""
    local = dt.astimezone(tz)
    return local.isoformat(timespec="milliseconds" if ms else "seconds")


def parse_iso(value: object) -> datetime:
    """Parse an ISO-8601 date-time as the APIs accept it (``Z`` or an offset; naive is taken as UTC).

    Raises ``ValueError`` for anything else.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a date-time: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # "+0000" style offsets (Clari's /v2/topics examples) -> "+00:00"
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
        text = text[:-2] + ":" + text[-2:]
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def order_key(seed: int, call_id: str) -> int:
    """A deterministic, non-chronological sort key (Gong's result order is not by time)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{call_id}".encode(), digest_size=8).digest(), "big")


class ByteLRU:
    """A thread-safe LRU of encoded JSON fragments, bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._d: OrderedDict[object, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: object) -> bytes | None:
        with self._lock:
            value = self._d.get(key)
            if value is not None:
                self._d.move_to_end(key)
            return value

    def put(self, key: object, value: bytes) -> None:
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._d[key] = value
            self._size += len(value)
            while self._size > self.max_bytes and self._d:
                _, dropped = self._d.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self._size = 0


def _lumpy_days(rng: random.Random, now: datetime, span_days: int) -> tuple[list[datetime], list[float]]:
    """Day starts over the span with cumulative weights: weekdays busy, weekends quiet, some burst days
    and quiet weeks, and growth over time. Deterministic for the rng."""
    first = (now - timedelta(days=span_days)).replace(hour=0, minute=0, second=0, microsecond=0)
    days: list[datetime] = []
    weights: list[float] = []
    weekday_w = [1.0, 1.15, 1.1, 1.05, 0.8, 0.12, 0.06]
    n = span_days + 2
    bursts = {rng.randrange(n) for _ in range(max(1, n // 30))}
    quiet = {rng.randrange(n) for _ in range(max(1, n // 90))}
    for i in range(n):
        day = first + timedelta(days=i)
        w = weekday_w[day.weekday()] * (0.6 + 0.8 * i / n)
        if i in bursts:
            w *= 2.5
        if any(q <= i < q + 7 for q in quiet):
            w *= 0.3
        days.append(day)
        weights.append(w)
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return days, cum


_HOUR_W = [
    0.2,
    0.1,
    0.05,
    0.05,
    0.05,
    0.1,
    0.3,
    0.6,
    1.0,
    1.3,
    1.5,
    1.4,
    1.2,
    1.6,
    2.0,
    2.2,
    2.3,
    2.1,
    1.9,
    1.7,
    1.4,
    1.0,
    0.7,
    0.4,
]


# --------------------------------------------------------------------------------------------------------------
# Gong


@dataclass(slots=True)
class GongCall:
    """Lightweight index entry for one Gong call (the ground truth the tests compare against)."""

    id: str
    started: datetime
    scheduled: datetime | None
    is_private: bool
    imported: bool
    has_transcript: bool
    workspace_id: str
    primary_user_id: str
    revision: int = 0  # bumped by ``GongData.update_call`` (an edit Gong publishes later)
    order_key: int = field(default=0, repr=False, compare=False)
    ts: float = field(default=0.0, repr=False, compare=False)  # started as a POSIX timestamp

    @property
    def effective_date(self) -> datetime:
        """The date ``GET /v2/calls`` filters on: scheduled time for web conferences, else start (§5.1)."""
        return self.scheduled if self.scheduled is not None else self.started


_WS_OFFSETS = [timedelta(hours=-7), timedelta(hours=2), timedelta(hours=5, minutes=30), timedelta(hours=-3)]


class GongData:
    """Ground truth and lazy generators for the Gong side (``reference/gong_api.md`` §2-3)."""

    def __init__(
        self,
        seed: int,
        now: datetime,
        *,
        calls: int,
        span_days: float,
        users: int,
        workspaces: int,
        private_ratio: float,
        imported_ratio: float,
        transcript_ratio: float,
        transcript_size: str,
    ) -> None:
        if transcript_size not in ("small", "realistic"):
            raise ValueError("transcript_size must be 'small' or 'realistic'")
        self.seed = seed
        self.now = now
        self.transcript_size = transcript_size
        self.private_ratio = private_ratio
        self.imported_ratio = imported_ratio
        self.transcript_ratio = transcript_ratio
        self._lock = threading.RLock()
        self.version = 0
        rng = random.Random(f"gong:{seed}")
        self._used_ids: set[str] = set()

        # workspaces
        self.workspaces: list[dict] = []
        self._ws_tz: dict[str, timezone] = {}
        for i in range(max(1, workspaces)):
            wid = str(rng.randrange(10**18, 10**19))
            name = "Initial workspace" if i == 0 else f"{rng.choice(['EMEA', 'APAC', 'SMB', 'Partners'])} {i}"
            desc = "The built-in workspace" if i == 0 else f"Workspace {i}"
            self.workspaces.append({"id": wid, "name": name, "description": desc})
            self._ws_tz[wid] = timezone(_WS_OFFSETS[i % len(_WS_OFFSETS)])
        self._ws_ids = [w["id"] for w in self.workspaces]
        self._ws_cum = list(
            _cumulative(
                [0.7 if i == 0 else 0.3 / max(1, len(self._ws_ids) - 1) for i in range(len(self._ws_ids))]
            )
        )

        # users
        self.users: list[dict] = []
        self.avatar_users: list[dict] = []
        self._make_users(rng, users)
        self._user_by_id = {u["id"]: u for u in self.users + self.avatar_users}
        active = [u["id"] for u in self.users if u["active"]]
        self._hosts = active or [u["id"] for u in self.users]
        self._ghost_host = str(rng.randrange(10**14, 10**15))  # a deleted user who still owns old calls

        # calls
        self._calls: list[GongCall] = []  # sorted by (started, id)
        self._starts: list[float] = []
        self._by_id: dict[str, GongCall] = {}
        self._late_counter = 0
        span = timedelta(days=span_days)
        lo = now - span
        hi = now - timedelta(hours=1)
        days, cum = _lumpy_days(rng, now, math.ceil(span_days))
        picks = rng.choices(range(len(days)), cum_weights=cum, k=calls * 2 + 10)
        pi = 0
        hour_cum = list(_cumulative(_HOUR_W))
        made: list[GongCall] = []
        while len(made) < calls:
            if pi >= len(picks):
                picks = rng.choices(range(len(days)), cum_weights=cum, k=calls + 10)
                pi = 0
            day = days[picks[pi]]
            pi += 1
            started, scheduled = self._pick_time(rng, day, hour_cum)
            if made and rng.random() < 0.01:
                # the same start as another call (ties on the replication key)
                other = made[rng.randrange(len(made))]
                started, scheduled = other.started, other.scheduled
            if not (lo <= started < hi):
                continue
            made.append(self._new_call(rng, started, scheduled))
        self._index(made)

    # ---------------------------------------------------------------------------------------------- building
    def _make_users(self, rng: random.Random, n: int) -> None:
        ids: list[str] = []
        for i in range(n + 3):
            uid = str(rng.randrange(10**14, 10**19))
            while uid in ids:
                uid = str(rng.randrange(10**14, 10**19))
            ids.append(uid)
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            email_local = _email(f"{first}.{last}")
            created = self.now - timedelta(days=rng.uniform(5, 1500), seconds=rng.uniform(0, 86400))
            created = created.replace(microsecond=rng.randrange(1000) * 1000)
            tz = timezone(_WS_OFFSETS[rng.randrange(len(_WS_OFFSETS))])
            avatar = i >= n
            user = {
                "id": uid,
                "emailAddress": (
                    f"{email_local}@gong.io" if avatar else f"{email_local}{i}@example-corp.com"
                ),
                "created": iso_offset(created, tz, ms=True),
                "active": avatar or rng.random() > 0.1,
                "emailAliases": [f"{email_local}{i}@example-corp.io"] if rng.random() < 0.2 else [],
                "trustedEmailAddress": None if rng.random() < 0.7 else f"{email_local}{i}@example-corp.com",
                "firstName": first,
                "lastName": last,
                "title": None if rng.random() < 0.3 else rng.choice(TITLES),
                "phoneNumber": None
                if rng.random() < 0.6
                else f"+1 {rng.randrange(200, 999)}-555-{rng.randrange(10000):04d}",
                "extension": None if rng.random() < 0.9 else str(rng.randrange(100, 999)),
                "personalMeetingUrls": [f"https://zoom.us/j/{rng.randrange(10**9, 10**10)}"]
                if rng.random() < 0.5
                else [],
                "settings": {
                    "webConferencesRecorded": rng.random() < 0.85,
                    "preventWebConferenceRecording": rng.random() < 0.05,
                    "telephonyCallsImported": rng.random() < 0.3,
                    "emailsImported": rng.random() < 0.6,
                    "preventEmailImport": False,
                    "nonRecordedMeetingsImported": rng.random() < 0.5,
                    "gongConnectEnabled": rng.random() < 0.4,
                },
                "managerId": None,
                "meetingConsentPageUrl": f"https://join.gong.io/example-corp/{email_local}?tkn={_token(rng, 22)}",
                "spokenLanguages": [{"language": "en-US", "primary": True}]
                + (
                    [{"language": rng.choice(["es-ES", "de-DE", "fr-FR"]), "primary": False}]
                    if rng.random() < 0.2
                    else []
                ),
                "conferencingProviders": None,
            }
            if i > 0 and rng.random() < 0.8 and not avatar:
                user["managerId"] = ids[rng.randrange(0, max(1, min(i, 12)))]
            (self.avatar_users if avatar else self.users).append(user)

    def _pick_time(
        self, rng: random.Random, day: datetime, hour_cum: list[float]
    ) -> tuple[datetime, datetime | None]:
        hour = rng.choices(range(24), cum_weights=hour_cum)[0]
        if rng.random() < 0.15:  # telephony / dialer: no schedule, any second
            return day + timedelta(hours=hour, seconds=rng.randrange(3600)), None
        r = rng.random()
        minute = rng.choice([0, 30]) if r < 0.7 else (rng.choice([15, 45]) if r < 0.9 else rng.randrange(60))
        scheduled = day + timedelta(hours=hour, minutes=minute)
        delta = 0 if rng.random() < 0.15 else rng.randrange(-120, 480)
        return scheduled + timedelta(seconds=delta), scheduled

    def _new_id(self, rng: random.Random) -> str:
        while True:
            cid = (
                str(rng.randrange(10**18, 10**19))
                if rng.random() < 0.9
                else str(rng.randrange(10**16, 10**18))
            )
            if cid not in self._used_ids:
                self._used_ids.add(cid)
                return cid

    def _new_call(
        self, rng: random.Random, started: datetime, scheduled: datetime | None, **flags: object
    ) -> GongCall:
        cid = self._new_id(rng)
        ws = self._ws_ids[bisect.bisect_left(self._ws_cum, rng.random() * self._ws_cum[-1])]
        host = self._ghost_host if rng.random() < 0.01 else self._hosts[rng.randrange(len(self._hosts))]
        call = GongCall(
            id=cid,
            started=started,
            scheduled=scheduled,
            is_private=rng.random() < self.private_ratio,
            imported=rng.random() < self.imported_ratio,
            has_transcript=rng.random() < self.transcript_ratio,
            workspace_id=ws,
            primary_user_id=host,
            order_key=order_key(self.seed, cid),
        )
        for key, value in flags.items():
            if key not in (
                "is_private",
                "imported",
                "has_transcript",
                "workspace_id",
                "primary_user_id",
                "scheduled",
            ):
                raise TypeError(f"unknown call flag {key!r}")
            setattr(call, key, value)
        if call.imported:
            call.scheduled = None
        return call

    def _index(self, calls: Iterable[GongCall]) -> None:
        with self._lock:
            for c in calls:
                self._by_id[c.id] = c
                self._used_ids.add(c.id)
                c.ts = c.started.timestamp()
            allc = list(self._by_id.values())
            allc.sort(key=lambda c: (c.started, c.id))
            self._calls = allc
            self._starts = [c.started.timestamp() for c in allc]
            self._hash_order = sorted(allc, key=attrgetter("order_key"))
            self.version += 1

    # ------------------------------------------------------------------------------------------- ground truth
    @property
    def calls(self) -> list[GongCall]:
        """All calls (private ones too), sorted by ``started``."""
        with self._lock:
            return list(self._calls)

    def get(self, call_id: str) -> GongCall | None:
        return self._by_id.get(str(call_id))

    def user_ids(self) -> list[str]:
        return [u["id"] for u in self.users]

    def expected_calls(
        self,
        from_dt: datetime | None = None,
        to_dt: datetime | None = None,
        include_private: bool = False,
        workspace_id: str | None = None,
    ) -> list[GongCall]:
        """Calls with ``started`` in ``[from_dt, to_dt)``, sorted by ``started``."""
        with self._lock:
            calls, starts = self._calls, self._starts
        lo = 0 if from_dt is None else bisect.bisect_left(starts, from_dt.timestamp())
        hi = len(calls) if to_dt is None else bisect.bisect_left(starts, to_dt.timestamp())
        return [
            c
            for c in calls[lo:hi]
            if (include_private or not c.is_private)
            and (workspace_id is None or c.workspace_id == workspace_id)
        ]

    def add_calls(
        self, n: int, started_from: datetime, started_to: datetime, **flags: object
    ) -> list[GongCall]:
        """Late arrivals: ``n`` new calls with ``started`` uniform in ``[started_from, started_to)``.

        They are visible to the API at once (Gong publishes calls and transcripts late, §5.3). ``flags`` may set
        ``is_private``, ``imported``, ``has_transcript``, ``workspace_id``, ``primary_user_id``.
        """
        with self._lock:
            self._late_counter += 1
            rng = random.Random(f"gong:{self.seed}:late:{self._late_counter}")
            span = (started_to - started_from).total_seconds()
            new = []
            for _ in range(n):
                started = started_from + timedelta(seconds=int(rng.random() * span))
                if started >= started_to:
                    started = started_from
                new.append(self._new_call(rng, started, started, **flags))
            self._index(new)
            return new

    def update_call(self, call_id: str, **changes: object) -> GongCall:
        """Change a call after the fact: ``is_private``, ``has_transcript`` or ``edit=True`` (bumps the revision:
        a new title and one more public comment). Cache keys include these, so nothing stale is served."""
        with self._lock:
            call = self._by_id[str(call_id)]
            for key, value in changes.items():
                if key == "edit":
                    if value:
                        call.revision += 1
                elif key in ("is_private", "has_transcript"):
                    setattr(call, key, bool(value))
                else:
                    raise TypeError(f"cannot change {key!r}")
            self.version += 1
            return call

    # --------------------------------------------------------------------------------------------- queries
    def matching(
        self,
        from_dt: datetime | None,
        to_dt: datetime | None,
        *,
        workspace_id: str | None = None,
        call_ids: list[str] | None = None,
        primary_user_ids: list[str] | None = None,
        transcripts_only: bool = False,
        effective_date: bool = False,
    ) -> list[GongCall]:
        """Calls matching a Gong filter, in the API's (hash) order."""
        with self._lock:
            calls, starts, hashed = self._calls, self._starts, self._hash_order
        if call_ids is not None:
            found = {i: self._by_id[i] for i in call_ids if i in self._by_id}
            cand = sorted(found.values(), key=attrgetter("order_key"))
            if effective_date:
                cand = [c for c in cand if _within(c.effective_date, from_dt, to_dt)]
            else:
                cand = [c for c in cand if _within(c.started, from_dt, to_dt)]
        elif effective_date:
            cand = [c for c in hashed if _within(c.effective_date, from_dt, to_dt)]
        else:
            lo = 0 if from_dt is None else bisect.bisect_left(starts, from_dt.timestamp())
            hi = len(calls) if to_dt is None else bisect.bisect_left(starts, to_dt.timestamp())
            if hi - lo > len(calls) // 8:  # a big share: filtering the hash-ordered list beats sorting
                lo_ts = starts[lo] if lo < len(starts) else float("inf")
                hi_ts = starts[hi] if hi < len(starts) else float("inf")
                cand = [c for c in hashed if lo_ts <= c.ts < hi_ts]
            else:
                cand = sorted(calls[lo:hi], key=attrgetter("order_key"))
        if workspace_id is not None:
            cand = [c for c in cand if c.workspace_id == workspace_id]
        if primary_user_ids is not None:
            hosts = set(primary_user_ids)
            cand = [c for c in cand if c.primary_user_id in hosts]
        if transcripts_only:
            cand = [c for c in cand if c.has_transcript]
        return cand

    # -------------------------------------------------------------------------------------- lazy call content
    def _rng(self, call: GongCall, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{call.id}:{purpose}")

    def duration(self, call: GongCall) -> int:
        rng = self._rng(call, "dur")
        if self.transcript_size == "realistic":
            return rng.randrange(2400, 3300)
        return rng.randrange(120, 3600)

    def cast(self, call: GongCall) -> list[dict]:
        """The participants of a call (parties in API shape, with internal marker keys prefixed by '_')."""
        rng = self._rng(call, "cast")
        host = self._user_by_id.get(call.primary_user_id)
        internals = [call.primary_user_id]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            uid = self._hosts[rng.randrange(len(self._hosts))]
            if uid not in internals:
                internals.append(uid)
        company = rng.choice(COMPANIES)
        domain = company.lower().replace(" ", "") + ".com"
        n_ext = 0 if rng.random() < 0.08 else rng.choice([1, 1, 2, 2, 3, 4, 6])
        parties: list[dict] = []
        speaker_n = 0
        for i, uid in enumerate(internals):
            u = self._user_by_id.get(uid) or host
            spoke = i == 0 or rng.random() < 0.7
            party: dict = {"id": str(rng.randrange(10**13, 10**19))}
            if u is not None:
                party["emailAddress"] = u["emailAddress"]
                party["name"] = f"{u['firstName']} {u['lastName']}"
                if u["title"] is not None:
                    party["title"] = u["title"]
                party["userId"] = u["id"]
            else:  # a deleted Gong user: no userId any more
                party["name"] = "Former Employee"
            party["speakerId"] = str(rng.randrange(10**18, 10**19)) if spoke else None
            party["affiliation"] = "Internal"
            party["methods"] = ["Invitee", "Attendee"] if spoke else rng.choice([["Invitee"], ["Attendee"]])
            party["_crm"] = ("User", "005" + _token(rng, 15)) if rng.random() < 0.6 else None
            parties.append(party)
            speaker_n += spoke
        for _ in range(n_ext):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            spoke = rng.random() < 0.65
            party = {"id": str(rng.randrange(10**13, 10**19))}
            if rng.random() < 0.85:
                party["emailAddress"] = _email(f"{first[0]}.{last}@{domain}")
            party["name"] = f"{first} {last}" if rng.random() < 0.95 else party.get("emailAddress", "Unknown")
            if rng.random() < 0.5:
                party["title"] = rng.choice(TITLES)
            party["speakerId"] = str(rng.randrange(10**18, 10**19)) if spoke else None
            party["affiliation"] = "External" if rng.random() < 0.9 else "Unknown"
            party["methods"] = rng.choice([["Invitee"], ["Invitee", "Attendee"], ["Attendee"]])
            if rng.random() < 0.3:
                party["phoneNumber"] = f"+1 {rng.randrange(200, 999)}-555-{rng.randrange(10000):04d}"
            r = rng.random()
            party["_crm"] = (
                ("Contact", "003" + _token(rng, 15))
                if r < 0.5
                else (("Lead", "00Q" + _token(rng, 15)) if r < 0.65 else None)
            )
            parties.append(party)
        if not any(p["speakerId"] for p in parties):
            parties[0]["speakerId"] = str(rng.randrange(10**18, 10**19))
        parties[0]["_company"] = company
        return parties

    def speakers(self, call: GongCall) -> list[str]:
        return [p["speakerId"] for p in self.cast(call) if p["speakerId"]]

    def expected_speakers(self, call: GongCall | str) -> list[dict] | None:
        """Ground truth for "who said what": per monologue of ``transcript(call)``, the speaker fields a tap
        should add (``speaker_name``, ``speaker_email_address``, ``speaker_title``, ``speaker_affiliation``,
        ``speaker_user_id``, ``speaker_party_id``), taken from the party the monologue was generated for.

        All ``None`` when no served party matches: the monologue was given a stranger's (or a null) speaker id,
        or the call is imported (its speakers exist, but Gong serves no ``parties``). None without a transcript.
        """
        c = self._call(call)
        made = self._transcript_and_speakers(c)
        if made is None:
            return None
        cast = [{k: v for k, v in p.items() if not k.startswith("_")} for p in self.cast(c)]
        out = []
        for party_index in made[1]:
            party = cast[party_index] if party_index is not None and not c.imported else {}
            out.append({key: party.get(src) for key, src in SPEAKER_FIELDS_GONG.items()})
        return json.loads(dumps(out))

    def full_call(self, call: GongCall) -> dict:
        """Every block of a call's ``CallData`` before the content selector is applied.

        ``context`` is kept in an internal form; ``project`` renders it per selector.
        """
        rng = self._rng(call, "meta")
        tz = self._ws_tz.get(call.workspace_id, UTC)
        duration = self.duration(call)
        cast = self.cast(call)
        company = cast[0]["_company"]
        conference = call.scheduled is not None and not call.imported
        media = "Video" if conference and rng.random() < 0.85 else "Audio"
        if conference:
            system = rng.choice(["Zoom", "Zoom", "Google Meet", "Microsoft Teams", "WebEx"])
            direction = "Conference"
        else:
            system = rng.choice(["Outreach", "Salesloft", "Aircall", "RingCentral", "Dialpad"])
            direction = rng.choice(["Outbound", "Outbound", "Inbound", "Unknown"])
        title = f"{company} <> Example Corp | {rng.choice(CALL_KINDS)}"
        if call.revision:
            title += f" (rev {call.revision})"
        lang = rng.choices(["eng", "spa", "fre", "deu", "und", "zxx"], weights=[90, 3, 2, 2, 2, 1])[0]
        meta = {
            "id": call.id,
            "url": f"https://app.gong.io/call?id={call.id}",
            "title": title,
            "scheduled": iso_offset(call.scheduled, tz) if call.scheduled else None,
            "started": iso_offset(call.started, tz),
            "duration": duration,
            "primaryUserId": call.primary_user_id,
            "direction": direction,
            "system": system,
            "scope": rng.choices(["External", "Internal", "Unknown"], weights=[75, 20, 5])[0],
            "media": media,
            "language": lang,
            "workspaceId": call.workspace_id,
            "sdrDisposition": rng.choice(["Got the gatekeeper", "Left voicemail", "Connected"])
            if not conference and rng.random() < 0.6
            else None,
            "clientUniqueId": _token(rng, 19).upper() if call.imported else None,
            "customData": "Conference Call" if rng.random() < 0.05 else None,
            "purpose": rng.choice(["Demo Call", "Discovery", None, None]),
            "meetingUrl": f"https://zoom.us/j/{rng.randrange(10**9, 10**11)}" if conference else None,
            "isPrivate": call.is_private,
            "calendarEventId": f"{_token(rng, 26).lower()}@google.com"
            if conference and rng.random() < 0.8
            else None,
        }
        # CRM context (internal form: list of (system, [(objectType, objectId, fields_now, fields_then)]))
        context = []
        if rng.random() < 0.7:
            crm = rng.choice(["Salesforce", "Salesforce", "HubSpot", "MicrosoftDynamic", "Generic"])
            objs = []
            stage_i = rng.randrange(len(STAGES))
            amount = round(rng.uniform(5000, 500000), 2)
            opp_fields = [
                {
                    "name": "Name",
                    "value": f"{company} - {rng.choice(['New Business', 'Expansion', 'Renewal'])}",
                },
                {"name": "Amount", "value": amount},
                {"name": "Probability", "value": rng.choice([10, 20, 40, 60, 80, 100])},
                {"name": "StageName", "value": STAGES[stage_i]},
                {"name": "IsClosed", "value": STAGES[stage_i].startswith("Closed")},
                {"name": "NextStep", "value": None if rng.random() < 0.5 else "Send proposal"},
                {
                    "name": "CloseDate",
                    "value": (call.started + timedelta(days=rng.randrange(5, 120))).date().isoformat(),
                },
                {"name": "Owner", "value": {"Id": "005" + _token(rng, 15), "Name": cast[0].get("name")}},
                {"name": "Products", "value": rng.sample(["Core", "Analytics", "API", "Support+"], 2)},
                {"name": "Seats__c", "value": rng.randrange(5, 500)},
            ]
            then_fields = [dict(f) for f in opp_fields]
            then_fields[1]["value"] = round(amount * 0.8, 2)
            then_fields[3]["value"] = STAGES[max(0, stage_i - 1)]
            then_fields[4]["value"] = False
            objs.append(("Opportunity", "006" + _token(rng, 15), opp_fields, then_fields))
            acc_fields = [
                {"name": "Name", "value": company},
                {"name": "Industry", "value": rng.choice(["Software", "Retail", "Finance", None])},
                {"name": "AnnualRevenue", "value": rng.randrange(10**6, 10**9)},
                {"name": "Employees", "value": float(rng.randrange(10, 50000))},
            ]
            objs.append(("Account", "001" + _token(rng, 15), acc_fields, acc_fields))
            context.append((crm, objs))
        # content
        n_struct = rng.randrange(2, 6)
        structure = [
            {
                "name": rng.choice(["Meeting Setup", "Introductions", "Demo", "Pricing", "Q&A", "Wrap-up"]),
                "duration": rng.randrange(30, max(31, duration // n_struct)),
            }
            for _ in range(n_struct)
        ]
        topics = [
            {"name": t, "duration": rng.choice([0, rng.randrange(10, 600)])}
            for t in rng.sample(TOPIC_NAMES, rng.randrange(2, 7))
        ]
        speaker_ids = [p["speakerId"] for p in cast if p["speakerId"]]
        trackers = []
        for name, ttype, phrases in rng.sample(TRACKERS, rng.randrange(0, len(TRACKERS) + 1)):
            occ = [
                {"startTime": round(rng.uniform(0, duration), 2), "speakerId": rng.choice(speaker_ids)}
                for _ in range(rng.randrange(0, 6))
            ]
            ph = []
            for phrase in rng.sample(phrases, rng.randrange(1, len(phrases) + 1)):
                po = [
                    {"startTime": round(rng.uniform(0, duration), 2), "speakerId": rng.choice(speaker_ids)}
                    for _ in range(rng.randrange(0, 4))
                ]
                ph.append({"count": len(po), "occurrences": po, "phrase": phrase})
            trackers.append(
                {
                    "id": str(rng.randrange(10**13, 10**19)),
                    "name": name,
                    "count": len(occ),
                    "type": ttype,
                    "occurrences": occ,
                    "phrases": ph,
                }
            )
        action_items = [
            {
                "snippetStartTime": (s := rng.randrange(0, duration)),
                "snippetEndTime": s + rng.randrange(0, 30),
                "speakerID": rng.choice(speaker_ids),
                "snippet": "I'll send you an invite with a link that you can use at that time as well.",
            }
            for _ in range(rng.randrange(0, 4))
        ]
        outline = []
        t = 0.0
        for _ in range(rng.randrange(1, 5)):
            d = round(rng.uniform(60, max(61, duration / 3)), 1)
            outline.append(
                {
                    "section": rng.choice(["Introductions", "Current process", "Demo", "Next steps"]),
                    "startTime": round(t, 1),
                    "duration": d,
                    "items": [
                        {
                            "text": "Discussed " + rng.choice(TOPIC_NAMES).lower(),
                            "startTime": round(t + rng.uniform(0, d), 1),
                        }
                        for _ in range(rng.randrange(1, 4))
                    ],
                }
            )
            t += d
        highlights = [
            {
                "title": rng.choice(["Next steps", "Pain points", "Objections"]),
                "items": [
                    {
                        "text": "Customer wants a follow-up " + rng.choice(["next week", "in Q3"]),
                        "startTimes": sorted(
                            round(rng.uniform(0, duration), 1) for _ in range(rng.randrange(1, 3))
                        ),
                    }
                ],
            }
            for _ in range(rng.randrange(0, 3))
        ]
        outcome = rng.choice(
            [
                {"id": "MEETING_BOOKED", "category": "Answered", "name": "Meeting booked"},
                {"id": "NOT_INTERESTED", "category": "Answered", "name": "Not interested"},
                {"id": "NO_ANSWER", "category": "Not answered", "name": "No answer"},
                None,
            ]
        )
        content = {
            "structure": structure,
            "topics": topics,
            "trackers": trackers,
            "pointsOfInterest": {"actionItems": action_items},
            "brief": None
            if rng.random() < 0.1
            else f"{company} is evaluating a replacement for their current tool.",
            "outline": outline,
            "highlights": highlights,
            "callOutcome": outcome,
            "keyPoints": [
                {"text": f"{company} needs SSO before rollout"} for _ in range(rng.randrange(0, 3))
            ],
        }
        total_talk = duration
        speakers = []
        for p in cast:
            if p["speakerId"]:
                sp = {"id": p["id"], "talkTime": round(rng.uniform(0.05, 0.6) * total_talk, 2)}
                if "userId" in p:
                    sp["userId"] = p["userId"]
                speakers.append(sp)
        interaction = {
            "speakers": speakers,
            "interactionStats": [
                {"name": "Talk Ratio", "value": round(rng.uniform(0.2, 0.8), 2)},
                {"name": "Longest Monologue", "value": rng.randrange(20, 400)},
                {"name": "Longest Customer Story", "value": rng.randrange(0, 300)},
                {"name": "Interactivity", "value": round(rng.uniform(0, 10), 1)},
                {"name": "Patience", "value": round(rng.uniform(0.2, 3), 2)},
            ],
            "video": [
                {"name": n, "duration": rng.randrange(10, max(11, duration))}
                for n in rng.sample(
                    ["Browser", "Presentation", "WebcamPrimaryUser", "WebcamNonCompany", "Webcam"],
                    rng.randrange(1, 4),
                )
            ]
            if media == "Video"
            else [],
            "questions": {"companyCount": rng.randrange(0, 20), "nonCompanyCount": rng.randrange(0, 15)},
        }
        comments = []
        commenters = [call.primary_user_id, *self._hosts[:5]]
        for i in range(rng.choice([0, 0, 0, 1, 2, 3]) + call.revision):
            posted = call.started + timedelta(seconds=duration + rng.randrange(60, 86400 * 3))
            posted = min(posted, self.now)
            cid = str(rng.randrange(10**18, 10**19))
            comments.append(
                {
                    "id": cid,
                    "audioStartTime": (a := rng.randrange(0, duration)),
                    "audioEndTime": a + rng.randrange(0, 20),
                    "commenterUserId": rng.choice(commenters),
                    "comment": rng.choice(
                        ["great question here", "@coach worth a listen", "pricing objection 👀"]
                    ),
                    "posted": iso_offset(posted, tz),
                    "inReplyTo": comments[-1]["id"] if comments and rng.random() < 0.3 else None,
                    "duringCall": rng.random() < 0.2 and i == 0,
                }
            )
        expires = int(self.now.timestamp()) + 8 * 3600
        media_urls = {
            "audioUrl": f"https://media.gong.io/audio/{call.id}.mp3?Expires={expires}&Signature={_token(rng, 32)}"
        }
        if media == "Video":
            media_urls["videoUrl"] = (
                f"https://media.gong.io/video/{call.id}.mp4?Expires={expires}&Signature={_token(rng, 32)}"
            )
        return {
            "metaData": meta,
            "_context": context,
            "_parties": [] if call.imported else cast,
            "content": content,
            "interaction": interaction,
            "collaboration": {"publicComments": comments},
            "media": media_urls,
        }

    def project(self, call: GongCall, full: dict, sel: Selector) -> dict:
        """Apply a content selector to ``full_call`` output: the ``CallData`` exactly as served (§3.3)."""
        out: dict = {"metaData": full["metaData"]}
        if sel.context != "None":
            out["context"] = [_render_ctx(system, objs, sel) for system, objs in full["_context"]]
        if sel.parties and not call.imported:
            parties = []
            for p in full["_parties"]:
                q = {k: v for k, v in p.items() if not k.startswith("_")}
                if sel.context != "None":
                    crm = p.get("_crm")
                    if crm is None:
                        q["context"] = []
                    else:
                        fields = [
                            {"name": "Email", "value": p.get("emailAddress")},
                            {"name": "Title", "value": p.get("title")},
                            {"name": "HasOptedOutOfEmail", "value": False},
                        ]
                        q["context"] = [_render_ctx("Salesforce", [(crm[0], crm[1], fields, fields)], sel)]
                parties.append(q)
            out["parties"] = parties
        if sel.content:
            content = {}
            for key in sel.content:
                if key == "trackers":
                    trackers = full["content"]["trackers"]
                    if "trackerOccurrences" not in sel.content:
                        trackers = [
                            {
                                **{k: v for k, v in t.items() if k != "occurrences"},
                                "phrases": [
                                    {k: v for k, v in ph.items() if k != "occurrences"} for ph in t["phrases"]
                                ],
                            }
                            for t in trackers
                        ]
                    content["trackers"] = trackers
                elif key != "trackerOccurrences":
                    content[key] = full["content"][key]
            out["content"] = content
        if sel.interaction:
            inter = {}
            for key in sel.interaction:
                src = "interactionStats" if key == "personInteractionStats" else key
                inter[src] = full["interaction"][src]
            out["interaction"] = inter
        if sel.public_comments:
            out["collaboration"] = full["collaboration"]
        if sel.media:
            out["media"] = full["media"]
        return out

    def _call(self, call: GongCall | str) -> GongCall:
        if isinstance(call, GongCall):
            return call
        found = self._by_id.get(str(call))
        if found is None:
            raise KeyError(f"no Gong call {call!r}")
        return found

    def call_data(self, call: GongCall | str, content_selector: dict | None = None) -> dict:
        """The exact ``CallData`` dict ``POST /v2/calls/extensive`` returns for this call and selector."""
        c = self._call(call)
        return json.loads(dumps(self.project(c, self.full_call(c), parse_selector(content_selector))))

    def parties(self, call: GongCall | str, content_selector: dict | None = None) -> list[dict]:
        """The ``parties`` as served (with ``{"exposedFields": {"parties": true}}`` unless a selector is given).

        Imported calls have no ``parties`` key at all; this returns ``[]`` for them.
        """
        selector = content_selector or {"exposedFields": {"parties": True}}
        return self.call_data(call, selector).get("parties", [])

    def transcript(self, call: GongCall | str) -> list[dict] | None:
        """The ``transcript`` monologue list as served (§3.4), or None when the call has no transcript."""
        c = self._call(call)
        out = self._transcript(c)
        return None if out is None else json.loads(dumps(out))

    def _transcript(self, call: GongCall) -> list[dict] | None:
        made = self._transcript_and_speakers(call)
        return None if made is None else made[0]

    def _transcript_and_speakers(self, call: GongCall) -> tuple[list[dict], list[int | None]] | None:
        """The monologues and, for each, the index in ``cast(call)`` of the party who spoke it (None: nobody's).

        About one call in four has one or two monologues whose ``speakerId`` matches no party: an id Gong
        never lists among the parties, or null. They are drawn from their own random stream, so every other
        byte of the transcript is what it was before they existed.
        """
        if not call.has_transcript:
            return None
        rng = self._rng(call, "transcript")
        cast = self.cast(call)
        speaker_parties = [i for i, p in enumerate(cast) if p["speakerId"]]
        speakers = [cast[i]["speakerId"] for i in speaker_parties]
        duration_ms = self.duration(call) * 1000
        if self.transcript_size == "realistic":
            counts = [rng.choice((1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12)) for _ in range(rng.randrange(85, 116))]
        else:
            counts = [rng.randrange(1, 5) for _ in range(rng.randrange(2, 7))]
        total = sum(counts)
        step = duration_ms * 0.95 / (total + 1)
        pool = _SENTENCES
        npool = len(pool)
        rand = rng.random
        t = int(rand() * step)
        out = []
        who: list[int | None] = []
        prev = -1
        nspk = len(speakers)
        for k in counts:
            si = int(rand() * nspk)
            if si == prev and nspk > 1:
                si = (si + 1) % nspk
            prev = si
            topic = None if rand() < 0.3 else TOPIC_NAMES[int(rand() * len(TOPIC_NAMES))]
            sents = []
            for _ in range(k):
                d = int(step * (0.6 + 0.5 * rand()))
                sents.append({"start": t, "end": t + d, "text": pool[int(rand() * npool)]})
                t += d + int(step * 0.1 * rand())
            out.append({"speakerId": speakers[si], "topic": topic, "sentences": sents})
            who.append(speaker_parties[si])
        strangers = self._rng(call, "strangers")
        if strangers.random() < 0.25:
            known = set(speakers)
            for m in strangers.sample(range(len(out)), min(len(out), strangers.choice([1, 1, 2]))):
                stranger: str | None = None
                if strangers.random() < 0.75:
                    stranger = str(strangers.randrange(10**18, 10**19))
                    while stranger in known:
                        stranger = str(strangers.randrange(10**18, 10**19))
                out[m]["speakerId"] = stranger
                who[m] = None
        return out, who


# The speaker fields a tap adds to a Gong monologue, and the party key (as served) each comes from.
SPEAKER_FIELDS_GONG = {
    "speaker_name": "name",
    "speaker_email_address": "emailAddress",
    "speaker_title": "title",
    "speaker_affiliation": "affiliation",
    "speaker_user_id": "userId",
    "speaker_party_id": "id",
}


@dataclass(frozen=True, slots=True)
class Selector:
    """A normalised ``contentSelector`` (§3.3)."""

    context: str = "None"  # None | Basic | Extended
    timing: tuple[str, ...] = ("Now",)
    parties: bool = False
    content: tuple[str, ...] = ()
    interaction: tuple[str, ...] = ()
    public_comments: bool = False
    media: bool = False


CONTENT_KEYS = (
    "structure",
    "topics",
    "trackers",
    "trackerOccurrences",
    "pointsOfInterest",
    "brief",
    "outline",
    "highlights",
    "callOutcome",
    "keyPoints",
)
INTERACTION_KEYS = ("speakers", "video", "personInteractionStats", "questions")


def parse_selector(raw: object) -> Selector:
    """Normalise a ``contentSelector`` body; raises ValueError for a malformed one."""
    if raw is None:
        return Selector()
    if not isinstance(raw, dict):
        raise ValueError("contentSelector must be an object")
    context = raw.get("context") or "None"
    if context not in ("None", "Basic", "Extended"):
        raise ValueError(f"Invalid contentSelector.context value: {context}")
    timing_raw = raw.get("contextTiming")
    if timing_raw is not None:
        if not isinstance(timing_raw, list) or any(t not in ("Now", "TimeOfCall") for t in timing_raw):
            raise ValueError("Invalid contentSelector.contextTiming")
        if timing_raw and context != "Extended":
            raise ValueError("contextTiming is only allowed when context is Extended")
    timing = tuple(dict.fromkeys(timing_raw)) if timing_raw else ("Now",)
    exposed = raw.get("exposedFields") or {}
    if not isinstance(exposed, dict):
        raise ValueError("exposedFields must be an object")
    content = exposed.get("content") or {}
    inter = exposed.get("interaction") or {}
    collab = exposed.get("collaboration") or {}
    if not all(isinstance(x, dict) for x in (content, inter, collab)):
        raise ValueError("exposedFields blocks must be objects")
    return Selector(
        context=context,
        timing=timing,
        parties=exposed.get("parties") is True,
        content=tuple(k for k in CONTENT_KEYS if content.get(k) is True),
        interaction=tuple(k for k in INTERACTION_KEYS if inter.get(k) is True),
        public_comments=collab.get("publicComments") is True,
        media=exposed.get("media") is True,
    )


def selector_from_dict(content_selector: dict | None) -> Selector:
    return parse_selector(content_selector)


def _render_ctx(system: str, objs: list, sel: Selector) -> dict:
    objects = []
    for obj_type, obj_id, now_fields, then_fields in objs:
        if sel.context == "Basic":
            objects.append({"objectType": obj_type, "objectId": obj_id})
            continue
        for timing in sel.timing:
            objects.append(
                {
                    "objectType": obj_type,
                    "objectId": obj_id,
                    "fields": now_fields if timing == "Now" else then_fields,
                    "timing": timing,
                }
            )
    return {"system": system, "objects": objects}


def _email(text: str) -> str:
    """Lower-case ASCII e-mail text from names with accents or apostrophes (José O'Brien -> jose.obrien)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace("'", "").replace(" ", "")


def _within(dt: datetime, lo: datetime | None, hi: datetime | None) -> bool:
    return (lo is None or dt >= lo) and (hi is None or dt < hi)


def _token(rng: random.Random, n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(alphabet[int(rng.random() * 62)] for _ in range(n))


def _cumulative(weights: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def _make_sentences(n: int) -> list[str]:
    rng = random.Random("sentences")
    out = []
    for _ in range(n):
        k = rng.randrange(4, 18)
        start = rng.randrange(len(_WORDS) - k)
        words = _WORDS[start : start + k]
        text = " ".join(words)
        text = text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])
        if rng.random() < 0.05:
            text = "Um, " + text[0].lower() + text[1:]
        if rng.random() < 0.02:
            text += " — “quoted” naïve café"
        out.append(text)
    return out


_SENTENCES = _make_sentences(4096)


# --------------------------------------------------------------------------------------------------------------
# Clari Copilot


CLARI_STATUS = [
    ("POST_PROCESSING_DONE", 70),
    ("PROCESSED", 8),
    ("CALL_DID_NOT_HAPPEN", 4),
    ("NOBODY_JOINED_CALL", 4),
    ("BOTJOIN_DENIED", 2),
    ("UNABLE_TO_JOIN", 2),
    ("ERROR_IN_PROCESSING", 1),
    ("PROCESSING", 3),
    ("IGNORED_BY_USER", 3),
    ("NO_DATA_INCALL", 2),
    ("POST_PROCESSING_SKIPPED", 1),  # the last one is undocumented
]
CLARI_TYPES = [
    ("ZOOM", 40),
    ("GOOGLE_MEET", 25),
    ("MS_TEAMS", 18),
    ("RECORDING", 6),
    ("DIALPAD", 4),
    ("AIRCALL_RECORDING", 3),
    ("OUTREACH", 2),
    ("RINGOVER", 1),
    ("SALESLOFT", 1),
]
DONE = ("POST_PROCESSING_DONE", "PROCESSED")


@dataclass(slots=True)
class ClariCall:
    """Lightweight index entry for one Clari call; the served dicts are generated from it lazily."""

    id: str
    time: datetime
    last_modified: datetime
    is_private: bool
    status: str
    type: str
    user_idx: tuple[int, ...]
    duration: int
    revision: int = 0


class ClariData:
    """Ground truth and lazy generators for Clari Copilot (``reference/clari_api.md`` §2)."""

    def __init__(
        self,
        seed: int,
        now: datetime,
        *,
        calls: int,
        span_days: float,
        private_ratio: float,
        transcript_size: str,
        details_missing_ratio: float = 0.01,
    ) -> None:
        self.seed = seed
        self.now = now
        self.private_ratio = private_ratio
        self.transcript_size = transcript_size
        self._lock = threading.RLock()
        self.version = 0
        rng = random.Random(f"clari:{seed}")
        self.users: list[dict] = []
        n_users = max(6, min(40, calls // 12 + 5))
        for i in range(n_users):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user = {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "email": _email(f"{first}.{last}{i}@example-corp.com"),
                "name": first if rng.random() < 0.3 else f"{first} {last}",
                "role": rng.choices(["REP", "MANAGER", "OBSERVER"], weights=[75, 20, 5])[0],
                "is_recording": rng.random() < 0.85,
            }
            if i > 2 and rng.random() < 0.7:
                user["manager_id"] = self.users[rng.randrange(0, 3)]["id"]
            self.users.append(user)
        self._by_id: dict[str, ClariCall] = {}
        self._order: list[ClariCall] = []
        self._late_counter = 0
        self.details_missing: set[str] = set()
        days, cum = _lumpy_days(rng, now, math.ceil(span_days))
        lo = now - timedelta(days=span_days)
        hour_cum = list(_cumulative(_HOUR_W))
        made = []
        while len(made) < calls:
            day = days[rng.choices(range(len(days)), cum_weights=cum)[0]]
            t = day + timedelta(
                hours=rng.choices(range(24), cum_weights=hour_cum)[0],
                seconds=rng.randrange(3600),
                milliseconds=rng.randrange(1000),
            )
            if not (lo <= t < now - timedelta(hours=1)):
                continue
            made.append(self._new_call(rng, t))
        for c in made:
            if rng.random() < details_missing_ratio:
                self.details_missing.add(c.id)
        self._index(made)

    def _new_call(self, rng: random.Random, t: datetime, last_modified: datetime | None = None) -> ClariCall:
        status = rng.choices([s for s, _ in CLARI_STATUS], weights=[w for _, w in CLARI_STATUS])[0]
        ctype = rng.choices([s for s, _ in CLARI_TYPES], weights=[w for _, w in CLARI_TYPES])[0]
        cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        while cid in self._by_id:
            cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        duration = rng.randrange(60, 3600) if self.transcript_size == "small" else rng.randrange(2400, 3300)
        if last_modified is None:
            lm = t + timedelta(seconds=duration + rng.randrange(60, 3600), milliseconds=rng.randrange(1000))
            if rng.random() < 0.1:  # edited (status updated) days later
                lm += timedelta(days=rng.uniform(1, 20))
            last_modified = min(lm, self.now - timedelta(milliseconds=rng.randrange(1, 60000)))
        k = rng.choice([1, 1, 1, 2, 2, 3])
        user_idx = tuple(dict.fromkeys(rng.randrange(len(self.users)) for _ in range(k)))
        return ClariCall(
            id=cid,
            time=t,
            last_modified=last_modified,
            is_private=rng.random() < self.private_ratio,
            status=status,
            type=ctype,
            user_idx=user_idx,
            duration=duration,
        )

    def _index(self, calls: Iterable[ClariCall]) -> None:
        with self._lock:
            for c in calls:
                self._by_id[c.id] = c
            self._order = sorted(self._by_id.values(), key=lambda c: c.id)  # default order: by id
            self.version += 1

    # ------------------------------------------------------------------------------------------- ground truth
    def index(self) -> list[ClariCall]:
        with self._lock:
            return list(self._order)

    def get(self, call_id: str) -> ClariCall | None:
        return self._by_id.get(call_id)

    @property
    def calls(self) -> list[dict]:
        """Every call (private ones too) as full ``/call-details`` dicts, in the API's default order."""
        return [self.details(c) for c in self.index()]

    @property
    def private_ids(self) -> set[str]:
        return {c.id for c in self.index() if c.is_private}

    def expected_calls(
        self,
        modified_gt: datetime | None = None,
        modified_lt: datetime | None = None,
        include_private: bool = False,
        include_unknown_to_details: bool = False,
    ) -> list[dict]:
        """Calls with ``modified_gt < last_modified_time < modified_lt`` (strict), as full details dicts.

        Calls whose ``/call-details`` answers 404 are left out unless asked for: a tap skips them (§3).
        """
        return [
            self.details(c)
            for c in self.index()
            if (include_private or not c.is_private)
            and (include_unknown_to_details or c.id not in self.details_missing)
            and (modified_gt is None or c.last_modified > modified_gt)
            and (modified_lt is None or c.last_modified < modified_lt)
        ]

    def add_calls(self, n: int, modified_from: datetime, modified_to: datetime) -> list[dict]:
        """New calls whose ``last_modified_time`` is uniform in ``[modified_from, modified_to)``."""
        with self._lock:
            self._late_counter += 1
            rng = random.Random(f"clari:{self.seed}:late:{self._late_counter}")
            span = (modified_to - modified_from).total_seconds()
            new = []
            for _ in range(n):
                lm = modified_from + timedelta(milliseconds=int(rng.random() * span * 1000))
                t = lm - timedelta(seconds=rng.randrange(300, 86400 * 2))
                new.append(self._new_call(rng, t, lm))
            self._index(new)
            return [self.details(c) for c in new]

    def modify(self, ids: Iterable[str], at: datetime) -> None:
        """Bump ``last_modified_time`` of these calls to ``at`` (a status update after processing)."""
        with self._lock:
            for cid in ids:
                c = self._by_id[cid]
                c.last_modified = at
                c.revision += 1
            self.version += 1

    # --------------------------------------------------------------------------------------------- shapes
    def _rng(self, call: ClariCall, purpose: str) -> random.Random:
        return random.Random(f"clari:{self.seed}:{call.id}:{purpose}")

    def _people(self, call: ClariCall) -> tuple[list[dict], list[dict], list[dict]]:
        """``users``, ``externalParticipants`` and ``joinedParticipants`` as served."""
        return self._cast(call)[:3]

    def _cast(self, call: ClariCall) -> tuple[list[dict], list[dict], list[dict], dict[int, dict], list[int]]:
        """The three person lists as served, the expected speaker of each person id (see ``expected_speakers``)
        and the ids of people who only joined.

        On top of the plain lists (``_plain_people``), drawn from their own random stream so nothing else
        changes: a former user (not in ``GET /users``) who may have joined under a display name; internal
        users and invited externals listed again among the joined under another name; guests who only joined;
        and ``personId`` sent as a number or as its string, chosen per call and list (sometimes per entry).
        """
        users, externals, joined = self._plain_people(call)
        tw = self._rng(call, "speakers")
        next_pid = 1 + max(p["personId"] for p in users + externals + joined)
        joins = bool(joined) or call.status in DONE or call.status == "PROCESSING"
        if tw.random() < 0.15:
            first, last = tw.choice(FIRST_NAMES), tw.choice(LAST_NAMES)
            users.append(
                {
                    "userId": str(uuid.UUID(int=tw.getrandbits(128), version=4)),
                    "userEmail": _email(f"{first}.{last}.former@example-corp.com"),
                    "isOrganizer": False,
                    "personId": next_pid,
                }
            )
            if joins and tw.random() < 0.6:
                joined.append({"name": f"{first} {last}", "personId": next_pid})
            next_pid += 1
        if joins:
            for u in users[:1]:
                if tw.random() < 0.3:  # the rep, as the meeting saw them
                    joined.append(
                        {"name": f"{u['userEmail'].split('@')[0]} (Zoom)", "personId": u["personId"]}
                    )
            for p in joined:
                if "email" in p and tw.random() < 0.3:  # the invitee joined under a shorter name
                    p["name"] = p["name"].split(" ")[0]
            if tw.random() < 0.3:
                first, last = tw.choice(FIRST_NAMES), tw.choice(LAST_NAMES)
                guest: dict = {"name": f"{first} {last}", "personId": next_pid}
                if tw.random() < 0.5:
                    guest["email"] = _email(f"{first}.{last}@guest.example.org")
                joined.append(guest)
                next_pid += 1
        known_users = {u["id"]: u["name"] for u in self.users}
        roster: dict[int, dict] = {}
        joined_names = {p["personId"]: p.get("name") for p in joined}
        for u in users:
            roster.setdefault(
                u["personId"],
                {
                    "speaker_name": known_users.get(u["userId"], joined_names.get(u["personId"])),
                    "speaker_email": u.get("userEmail"),
                    "speaker_user_id": u["userId"],
                    "speaker_affiliation": "Internal",
                },
            )
        for p in externals + joined:
            roster.setdefault(
                p["personId"],
                {
                    "speaker_name": p.get("name"),
                    "speaker_email": p.get("email"),
                    "speaker_user_id": None,
                    "speaker_affiliation": "External",
                },
            )
        listed = {p["personId"] for p in users + externals}
        joined_only = sorted({p["personId"] for p in joined} - listed)
        for people in (users, externals, joined):
            style = tw.choice(["int", "int", "str", "mixed"])
            for p in people:
                if style == "str" or (style == "mixed" and tw.random() < 0.5):
                    p["personId"] = str(p["personId"])
        return users, externals, joined, roster, joined_only

    def _plain_people(self, call: ClariCall) -> tuple[list[dict], list[dict], list[dict]]:
        rng = self._rng(call, "people")
        users = []
        pid = 0
        for j, ui in enumerate(call.user_idx):
            u = self.users[ui]
            users.append({"userId": u["id"], "userEmail": u["email"], "isOrganizer": j == 0, "personId": pid})
            pid += 1
        company = rng.choice(COMPANIES)
        domain = company.lower().replace(" ", "") + ".com"
        externals = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            p: dict = {
                "name": f"{first} {last}",
                "email": _email(f"{first}.{last}@{domain}"),
            }
            if rng.random() < 0.3:
                p["phone"] = f"+1{rng.randrange(2000000000, 9999999999)}"
            p["personId"] = pid
            pid += 1
            externals.append(p)
        joined = []
        if call.status in DONE or call.status == "PROCESSING":
            for p in externals:
                if rng.random() < 0.8:
                    joined.append({k: v for k, v in p.items() if k != "phone"})
            if rng.random() < 0.2:
                joined.append({"name": rng.choice(FIRST_NAMES), "personId": pid})
        return users, externals, joined

    def _twist_lines(
        self, call: ClariCall, lines: list[dict], roster: dict[int, dict], joined_only: list[int]
    ) -> None:
        """Some lines spoken by guests who only joined, some by an id on no list; ``personId`` as a number or a
        string (per call, or per line). Own random stream: texts and times stay as they were."""
        tw = self._rng(call, "speaker-lines")
        unknown = 100 + tw.randrange(900)
        style = tw.choice(["int", "int", "str", "mixed"])
        for line in lines:
            r = tw.random()
            if joined_only and r < 0.15:
                line["personId"] = joined_only[int(tw.random() * len(joined_only))]
            elif r > 0.96:
                line["personId"] = unknown
            if style == "str" or (style == "mixed" and tw.random() < 0.5):
                line["personId"] = str(line["personId"])
        assert unknown not in roster

    def expected_speakers(self, call: ClariCall | str) -> list[dict] | None:
        """Ground truth for "who said what": per line of the call's ``/call-details`` transcript, the fields a
        tap should add (``speaker_name``, ``speaker_email``, ``speaker_user_id``, ``speaker_affiliation``).

        The speaker is who the line was generated for: an internal user (``Internal``; the name from
        ``GET /users``, else the name they joined under, else None), an invited external, a guest who only
        joined (``External``), or nobody (all None). None when the call has no transcript.
        """
        c = call if isinstance(call, ClariCall) else self._by_id[call]
        lines = self.details(c).get("transcript")
        if lines is None:
            return None
        roster = self._cast(c)[3]
        nobody = dict.fromkeys(("speaker_name", "speaker_email", "speaker_user_id", "speaker_affiliation"))
        return [dict(roster.get(int(line["personId"]), nobody)) for line in lines]

    def list_item(self, call: ClariCall, include_audio: bool = False, include_video: bool = False) -> dict:
        """The ``Call`` object as ``GET /calls`` serves it (fields without a value are omitted)."""
        rng = self._rng(call, "item")
        users, externals, joined = self._people(call)
        company = rng.choice(COMPANIES)
        out: dict = {"id": call.id}
        if rng.random() < 0.9:
            out["source_id"] = "REQUESTED_POST" if call.type == "RECORDING" else _token(rng, 26).lower()
        out["title"] = f"{company} / Example Corp - {rng.choice(CALL_KINDS)}"
        if call.revision:
            out["title"] += f" (rev {call.revision})"
        out["users"] = users
        out["externalParticipants"] = externals
        out["joinedParticipants"] = joined
        out["status"] = call.status
        out["bot_not_join_reason"] = (
            [rng.choice(["IGNORED_NOT_EXTERNAL_MEETING", "IGNORED_BY_USER", "CONSENT_REVOKED", "IGNORED"])]
            if call.status in ("IGNORED_BY_USER", "BOTJOIN_DENIED", "UNABLE_TO_JOIN")
            else []
        )
        out["type"] = call.type
        out["time"] = iso_utc_ms(call.time)
        if rng.random() < 0.15:
            out["icaluid"] = f"{_token(rng, 20).lower()}@google.com"
        if rng.random() < 0.4:
            out["calendar_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if rng.random() < 0.1:
            out["recurring_event_id"] = _token(rng, 26).lower()
            out["original_start_time"] = iso_utc_ms(call.time.replace(microsecond=0, second=0))
        out["last_modified_time"] = iso_utc_ms(call.last_modified)
        expires = int(self.now.timestamp()) + 4 * 3600
        out["audio_url"] = (
            f"https://media.copilot.clari.com/{call.id}.mp3?X-Amz-Expires=14400&t={expires}"
            if include_audio
            else None
        )
        out["video_url"] = (
            f"https://media.copilot.clari.com/{call.id}.mp4?X-Amz-Expires=14400&t={expires}"
            if include_video
            else None
        )
        out["disposition"] = rng.choices(
            [
                "UNKNOWN_CALL_DISPOSITION",
                "CALL_CONNECTED_WITH_PROSPECT",
                "CALL_DID_NOT_CONNECT_WITH_PROSPECT",
                "CALL_NOBODY_JOINED",
            ],
            weights=[70, 20, 5, 5],
        )[0]
        if rng.random() < 0.3:
            out["deal_name"] = f"{company} - {rng.choice(['New Business', 'Expansion'])}"
            out["deal_value"] = str(
                rng.choice([rng.randrange(1000, 300000), round(rng.uniform(1000, 9999), 2)])
            )
            out["deal_close_date"] = iso_utc_ms(call.time + timedelta(days=rng.randrange(10, 120)))
            out["deal_stage_before_call"] = rng.choice(STAGES[:5])
            out["account_name"] = company
            out["contact_names"] = [p["name"] for p in externals]
            out["crm_info"] = {
                "source_crm": rng.choice(["SALESFORCE", "HUBSPOT"]),
                "deal_id": "006" + _token(rng, 15),
                "account_id": "001" + _token(rng, 15),
                "contact_ids": ["003" + _token(rng, 15) for _ in externals],
            }
        if rng.random() < 0.2:
            out["bookmark_timestamps"] = [
                iso_utc_ms(call.time + timedelta(seconds=rng.randrange(call.duration)))
            ]
        if call.status in DONE:
            speak = _float32(call.duration * rng.uniform(0.6, 0.95))
            cats = []
            for name, _type, phrases in rng.sample(TRACKERS, rng.randrange(0, 3)):
                matched = [
                    {
                        "text": ph,
                        "user_id": users[0]["userId"],
                        "name": users[0]["userEmail"].split("@")[0],
                        "time": _float32(rng.uniform(0, call.duration)),
                    }
                    for ph in rng.sample(phrases, 1)
                ]
                cats.append(
                    {
                        "name": name,
                        "occurences": len(matched),
                        "phrases_matched": matched,
                        "ai_detected": rng.random() < 0.3,
                    }
                )
            out["metrics"] = {
                "talk_listen_ratio": rng.choice([1, _float32(rng.uniform(0.2, 0.9))]),
                "num_questions_asked": rng.randrange(0, 30),
                "num_questions_asked_by_reps": rng.randrange(0, 15),
                "call_duration": call.duration,
                "total_speak_duration": speak,
                "longest_monologue_duration": _float32(speak * rng.uniform(0.05, 0.4)),
                "longest_monologue_start_time": _float32(rng.uniform(0, call.duration)),
                "engaging_questions": rng.randrange(0, 5),
                "categories": cats,
            }
        out["call_review_page_url"] = f"https://copilot.clari.com/call/{call.id}"
        return out

    def details(self, call: ClariCall, include_audio: bool = False, include_video: bool = False) -> dict:
        """The ``call`` object of ``GET /call-details`` (§2.2)."""
        out = self.list_item(call, include_audio, include_video)
        rng = self._rng(call, "details")
        if "deal_name" in out:
            out["deal_stage_live"] = rng.choice(STAGES)
        if call.status not in DONE:
            return out
        _users, _externals, _joined, roster, joined_only = self._cast(call)
        persons = [int(p["personId"]) for p in _users + _externals]
        n = rng.randrange(5, 21) if self.transcript_size == "small" else rng.randrange(450, 551)
        step = call.duration / (n + 1)
        t = rng.uniform(0, 3)
        pool = _SENTENCES
        rand = rng.random
        transcript = []
        for _ in range(n):
            d = step * (0.6 + 0.4 * rand())
            entry = {
                "text": pool[int(rand() * len(pool))],
                "start": round(t, 2),
                "end": round(t + d, 2),
                "personId": persons[int(rand() * len(persons))],
                "annotations": [],
            }
            r = rand()
            if r < 0.05:
                name, _type, phrases = TRACKERS[int(rand() * len(TRACKERS))]
                entry["annotations"].append(
                    {"tracker": name, "phrase": phrases[0], "category": _type.lower()}
                )
            elif r < 0.08:
                entry["annotations"].append({"label": "Next Steps", "phrase": "follow up next week"})
            transcript.append(entry)
            t += d + step * 0.1 * rand()
        self._twist_lines(call, transcript, roster, joined_only)
        out["transcript"] = transcript
        if rng.random() < 0.9:
            topics = []
            for name in rng.sample(TOPIC_NAMES, rng.randrange(1, 4)):
                if rng.random() < 0.1:
                    start, end = "NaN", "NaN"
                else:
                    a = rng.uniform(0, call.duration * 0.8)
                    start, end = f"{a:.2f}", f"{a + rng.uniform(10, 300):.2f}"
                topics.append(
                    {
                        "name": name,
                        "start_timestamp": start,
                        "end_timestamp": end,
                        "summary": f"They discussed {name.lower()}.",
                    }
                )
            items = []
            for _ in range(rng.randrange(0, 4)):
                a = rng.uniform(0, call.duration)
                items.append(
                    {
                        "action_item": rng.choice(
                            ["Send the quote", "Book a security review", "Share the deck"]
                        ),
                        "speaker_name": out["users"][0]["userEmail"].split("@")[0],
                        "start_timestamp": "NaN" if rng.random() < 0.05 else str(round(a, 2)),
                        "end_timestamp": str(round(a + 5, 2)),
                    }
                )
            out["summary"] = {
                "full_summary": f"{out['title']}: the team reviewed needs and agreed next steps.",
                "topics_discussed": topics,
                "key_action_items": items,
            }
        if rng.random() < 0.3:
            out["competitor_sentiments"] = [
                {
                    "competitor_name": rng.choice(["Gong", "Chorus", "Avoma"]),
                    "sentiment": rng.choice(["positive", "negative", "neutral"]),
                    "reasoning": "The prospect compared pricing.",
                    "personId": str(rng.choice(persons)),
                    "turn_start_time": f"{rng.uniform(0, call.duration):.2f}",
                }
                for _ in range(rng.randrange(1, 3))
            ]
        return out


def dumps(obj: object) -> bytes:
    """Compact JSON, UTF-8, non-ASCII kept as is (as the real APIs send it)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
