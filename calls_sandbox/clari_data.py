"""Ground truth and lazy generators for the Clari Copilot side of the sandbox (``reference/clari_api.md`` §2)."""

from __future__ import annotations

import math
import random
import struct
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .common import (
    _HOUR_W,
    _SENTENCES,
    CALL_KINDS,
    COMPANIES,
    FIRST_NAMES,
    LAST_NAMES,
    STAGES,
    TOPIC_NAMES,
    TRACKERS,
    _cumulative,
    _email,
    _lumpy_days,
    _token,
    iso_utc_ms,
)


def _float32(x: float) -> float:
    """Round-trip through a 32-bit float, giving values like 98.23999786376953 (as Clari sends them)."""
    return struct.unpack("f", struct.pack("f", x))[0]


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
        self.deleted: set[str] = set()  # ids removed by delete_calls
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

    def delete_calls(self, ids: Iterable[str]) -> list[str]:
        """Delete calls: they disappear from ``/calls`` and ``/call-details`` at once. Unknown ids are ignored;
        returns the ids deleted."""
        with self._lock:
            gone = [i for i in ids if i in self._by_id]
            for call_id in gone:
                del self._by_id[call_id]
                self.details_missing.discard(call_id)
            self.deleted.update(gone)
            self._index(())
            return gone

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

    def _nan_times(self, call: ClariCall, lines: list[dict]) -> None:
        """Clari sends "NaN" for some timestamps (clari_api.md §2.2): in about one call in five, a few lines
        have "NaN" as ``start``, ``end`` or both. Own random stream: everything else stays as it was."""
        rng = self._rng(call, "nan-times")
        if rng.random() >= 0.2 or not lines:
            return
        for index in rng.sample(range(len(lines)), min(len(lines), rng.randrange(1, 4))):
            for key in rng.choice([("start",), ("end",), ("start", "end")]):
                lines[index][key] = "NaN"

    def expected_lines(self, call: ClariCall | str) -> list[dict] | None:
        """Ground truth for ``clari_transcript_lines``: one row per line of the ``/call-details`` transcript,
        in its order, ``"NaN"`` times as None, ``personId`` as text, with the speaker fields of
        ``expected_speakers``. None when the call has no transcript."""
        c = call if isinstance(call, ClariCall) else self._by_id[call]
        details = self.details(c)
        lines, speakers = details.get("transcript"), self.expected_speakers(c)
        if lines is None or speakers is None:
            return None

        def seconds(value: object) -> object:
            return None if value == "NaN" else value

        return [
            {
                "call_id": c.id,
                "last_modified_time": details["last_modified_time"],
                "line_index": n,
                "start": seconds(line["start"]),
                "end": seconds(line["end"]),
                "text": line["text"],
                "person_id": str(line["personId"]),
                "annotations": line["annotations"],
                **who,
            }
            for n, (line, who) in enumerate(zip(lines, speakers, strict=True))
        ]

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
        self._nan_times(call, transcript)
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
