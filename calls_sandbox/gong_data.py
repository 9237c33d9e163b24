"""Ground truth and lazy generators for the Gong side of the sandbox (``reference/gong_api.md`` §2-3)."""

from __future__ import annotations

import bisect
import json
import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from operator import attrgetter

from .common import (
    _HOUR_W,
    _SENTENCES,
    CALL_KINDS,
    COMPANIES,
    FIRST_NAMES,
    LAST_NAMES,
    STAGES,
    TITLES,
    TOPIC_NAMES,
    TRACKERS,
    _cumulative,
    _email,
    _lumpy_days,
    _token,
    dumps,
    iso_offset,
    order_key,
)
from .gong_selector import SPEAKER_FIELDS_GONG, Selector, _render_ctx, parse_selector


def _within(dt: datetime, lo: datetime | None, hi: datetime | None) -> bool:
    return (lo is None or dt >= lo) and (hi is None or dt < hi)


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
        self.deleted: set[str] = set()  # ids removed by delete_calls
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

    def delete_calls(self, call_ids: Iterable[str]) -> list[str]:
        """Delete calls, as Gong's retention, erasure requests, automation rules or users do: they disappear from
        every endpoint at once (listings, extensive data, transcripts, ``/v2/calls/{id}``, library folders,
        answered scorecards). Unknown ids are ignored; returns the ids deleted."""
        with self._lock:
            gone = [str(i) for i in call_ids if str(i) in self._by_id]
            for call_id in gone:
                del self._by_id[call_id]
            self.deleted.update(gone)
            self._index(())
            return gone

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
        self._crosstalk(call, out)
        return out, who

    def _crosstalk(self, call: GongCall, monologues: list[dict]) -> None:
        """Speakers talking over each other, as real transcripts have them: in about one call in three, the
        first sentence of up to four monologues starts exactly when the previous monologue's last sentence
        starts (a tie in ``start``) or a little before it (so the call's sentences in time order differ from
        their order in the transcript). Own random stream: everything else stays as it was."""
        rng = self._rng(call, "crosstalk")
        if rng.random() >= 0.35 or len(monologues) < 2:
            return
        for m in rng.sample(range(1, len(monologues)), min(len(monologues) - 1, rng.randrange(1, 5))):
            # Only over a monologue of two sentences or more: each monologue still starts after the one before
            # it (the parts of a long transcript are joined in the order of their monologues' first sentence).
            said = monologues[m - 1]["sentences"]
            before, first, floor = said[-1], monologues[m]["sentences"][0], said[0]["start"]
            if len(said) < 2 or before["start"] <= floor:
                continue
            if rng.random() < 0.6 or before["start"] - floor < 2:
                start = before["start"]  # a tie
            else:
                start = before["start"] - rng.randrange(1, min(1500, before["start"] - floor))
            first["end"] = max(first["end"], start + 1)
            first["start"] = start

    def expected_sentences(self, call: GongCall | str) -> list[dict] | None:
        """Ground truth for ``transcript_sentences``: one row per sentence of the served transcript, numbered
        by ``start`` with ties in the served order, each with its monologue's position, topic, speaker id
        and speaker fields (``expected_speakers``). None without a transcript."""
        c = self._call(call)
        monologues, speakers = self.transcript(c), self.expected_speakers(c)
        if monologues is None or speakers is None:
            return None
        rows = []
        for m_index, (monologue, who) in enumerate(zip(monologues, speakers, strict=True)):
            for sentence in monologue["sentences"]:
                rows.append(
                    {
                        "call_id": c.id,
                        "monologue_index": m_index,
                        "start": sentence["start"],
                        "end": sentence["end"],
                        "text": sentence["text"],
                        "topic": monologue["topic"],
                        "speaker_id": monologue["speakerId"],
                        **who,
                    }
                )
        ordered = sorted(range(len(rows)), key=lambda i: (rows[i]["start"], i))
        return [{"sentence_index": n, **rows[i]} for n, i in enumerate(ordered)]
