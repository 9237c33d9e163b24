"""The Gong endpoints beyond calls and users (``reference/more_endpoints.md`` §1-6), with their awkward parts.

Endpoints (all under ``/gong``; auth, error bodies, cursors and the 100-record pages are ``gong.GongApi``'s):

- ``GET /v2/settings/scorecards``, ``GET /v2/settings/trackers[?workspaceId=]``, ``GET /v2/call-outcomes``:
  one unpaged response each. Ids are strings although the spec says int64, ``minRange``/``maxRange`` are strings
  (``"1"``, ``"5"``), a system scorecard has ``updaterUserId: "-1"``, answer option ids are integers (as the spec
  says), ``filterQuery`` is JSON encoded as a string, an unknown ``workspaceId`` is 404 "Workspace not found".
- ``POST /v2/stats/activity/scorecards``: bare ``YYYY-MM-DD`` review/call dates in the company's time zone, ``to``
  exclusive; ``filter.reviewMethod`` defaults to ``MANUAL`` (automatic reviews left out unless ``AUTOMATIC`` or
  ``BOTH``); ``reviewFromDate == reviewToDate`` and empty windows answer 404 "No answered scorecards found
  corresponding to the provided filters." (with the period); cursor in the body, 100 per page, hash order.
- ``POST /v2/stats/activity/day-by-day`` and ``POST /v2/stats/interaction``: required ``fromDate``/``toDate``
  (``YYYY-MM-DD``, company zone, ``to`` exclusive); a ``toDate`` after the company's current day is a 400;
  responses carry ``timeZone``, ``fromDateTime``, ``toDateTime``; nothing found is 404 "No stats found for the
  specified period". Day-by-day lists, per user with activity in the range, every day of the range (empty arrays
  on idle days); interaction stats are aggregated over the whole requested range (maxima and means of per-call
  figures), so a multi-day answer differs from the one-day ones.
- ``GET /v2/library/folders[?workspaceId=]``: per workspace; a workspace without folders answers 404 "No folders
  found for the specified period"; without ``workspaceId`` all folders. ``GET /v2/library/folder-content?folderId=``:
  an empty folder is ``200`` with ``calls: []``; one call sits twice in a folder as two snippets.
- Missing scopes: ``Sandbox(gong_missing_scopes={"api:stats:scorecards", ...})`` (a mutable set) makes every
  endpoint needing one of them answer 401 ``"You don't have permission to use '<scope>' in your app."`` (the old
  endpoints too).

Ground truth for tests: ``sb.gong_more`` (a ``GongMoreData``): ``scorecards``, ``trackers``, ``call_outcomes``,
``folders``, ``folder_content(folder_id)``, ``answered_scorecards``, ``expected_answered(from_day, to_day,
method="BOTH")``, ``expected_daily_activity(from_day, to_day)``, ``expected_interaction_stats(from_day, to_day)``,
``interaction(from_day, to_day)`` (one request's aggregate), ``today()``; ``unknown_fields = True`` serves
automatic reviews with a field the contract does not know; changes while running:
``add_review(review_time, method=...)``, ``revise_day(day)``. Control endpoints: ``POST /_sandbox/gong/add_review``
(``{"review_time", "method"?}``), ``POST /_sandbox/gong/revise_day`` (``{"day"}``).
"""

from __future__ import annotations

import random
import re
import threading
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .common import dumps, iso_offset, order_key, parse_iso

if TYPE_CHECKING:
    from .gong import GongApi
    from .gong_data import GongCall, GongData
    from .http_types import Reply, Request

NO_ANSWERED = "No answered scorecards found corresponding to the provided filters."
NO_STATS = "No stats found for the specified period"
NO_FOLDERS = "No folders found for the specified period"

# Each endpoint's scope (reference §0.2 and per endpoint); the old endpoints too.
SCOPES = {
    ("POST", "/v2/calls/extensive"): "api:calls:read:extensive",
    ("POST", "/v2/calls/transcript"): "api:calls:read:transcript",
    ("GET", "/v2/calls"): "api:calls:read:basic",
    ("GET", "/v2/users"): "api:users:read",
    ("POST", "/v2/users/extensive"): "api:users:read",
    ("GET", "/v2/workspaces"): "api:workspaces:read",
    ("GET", "/v2/settings/scorecards"): "api:settings:scorecards:read",
    ("POST", "/v2/stats/activity/scorecards"): "api:stats:scorecards",
    ("GET", "/v2/settings/trackers"): "api:settings:trackers:read",
    ("GET", "/v2/call-outcomes"): "api:call-outcomes:read",
    ("GET", "/v2/library/folders"): "api:library:read",
    ("GET", "/v2/library/folder-content"): "api:library:read",
    ("POST", "/v2/stats/activity/day-by-day"): "api:stats:user-actions:detailed",
    ("POST", "/v2/stats/interaction"): "api:stats:interaction",
}

ACTIVITIES = (
    "callsAsHost",
    "callsAttended",
    "callsGaveFeedback",
    "callsRequestedFeedback",
    "callsReceivedFeedback",
    "ownCallsListenedTo",
    "othersCallsListenedTo",
    "callsSharedInternally",
    "callsSharedExternally",
    "callsScorecardsFilled",
    "callsScorecardsReceived",
    "callsCommentsGiven",
    "callsCommentsReceived",
    "callsMarkedAsFeedbackGiven",
    "callsMarkedAsFeedbackReceived",
)
# An actor's activity on someone's call, and what the call's host receives for it.
_GIVEN = (
    ("othersCallsListenedTo", None),
    ("othersCallsListenedTo", None),
    ("callsSharedInternally", None),
    ("callsSharedExternally", None),
    ("callsGaveFeedback", "callsReceivedFeedback"),
    ("callsCommentsGiven", "callsCommentsReceived"),
    ("callsMarkedAsFeedbackGiven", "callsMarkedAsFeedbackReceived"),
)
STAT_NAMES = ("Longest Monologue", "Longest Customer Story", "Interactivity", "Patience", "Question Rate")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class GongMoreData:
    """Deterministic definitions, reviews, library and stats, sized from the calls and users of ``GongData``."""

    def __init__(self, gong: GongData, *, seed: int, time_zone: str = "US/Pacific") -> None:
        self.gong = gong
        self.seed = seed
        self.time_zone = time_zone
        self.tz = ZoneInfo(time_zone)
        self._lock = threading.RLock()
        self._late: list[dict] = []
        self._revisions: dict[date, int] = {}
        self._by_day_version = -1
        self._by_day: dict[date, list[GongCall]] = {}
        # When set, automatic reviews are served with a field the contract does not know (`aiConfidence`).
        self.unknown_fields = False

    # ------------------------------------------------------------------------------------------------ clock
    def today(self) -> date:
        """The company's current day (wall clock, in the company's time zone)."""
        return datetime.now(self.tz).date()

    def local_day(self, dt: datetime) -> date:
        return dt.astimezone(self.tz).date()

    def midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz)

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, "more", *parts)))

    def _id(self, rng: random.Random) -> str:
        return str(rng.randrange(10**18, 10**19))

    @cached_property
    def _user_ids(self) -> list[str]:
        return [u["id"] for u in self.gong.users if u["active"]] or [u["id"] for u in self.gong.users]

    @cached_property
    def _emails(self) -> dict[str, str]:
        return {u["id"]: u["emailAddress"] for u in self.gong.users}

    def _stamp(self, rng: random.Random, days_back: float) -> str:
        when = self.gong.now - timedelta(days=days_back, seconds=rng.randrange(86400))
        return iso_offset(when.replace(microsecond=rng.randrange(10**6)), self.tz, ms=False)

    # ------------------------------------------------------------------------------------------ definitions
    @cached_property
    def scorecards(self) -> list[dict]:
        """``GET /v2/settings/scorecards``: one per workspace plus three, one automatic, one disabled."""
        rng = self._rng("scorecards")
        workspaces = [w["id"] for w in self.gong.workspaces]
        names = ["Discovery call", "Demo quality", "AI call review", "Negotiation", "Cold call", "Renewal"]
        out = []
        for i in range(len(workspaces) + 3):
            automatic = i == 2
            system = i == 0
            created = self._stamp(rng, rng.uniform(200, 900))
            questions = []
            for q in range(rng.randint(2, 4)):
                kind = ["RANGE", "SINGLE_SELECT", "TEXT", "RANGE"][q]
                question = {
                    "questionId": self._id(rng),
                    "questionRevisionId": self._id(rng),
                    "questionText": f"Question {q + 1} of {names[i % len(names)]}?",
                    "isOverall": q == 0,
                    "questionType": kind,
                    "answerGuide": None
                    if rng.random() < 0.5
                    else "Score what you heard, not what you hoped.",
                    "minRange": "1" if kind == "RANGE" else None,
                    "maxRange": ("5" if q == 0 else "10") if kind == "RANGE" else None,
                    # Integers in the spec and here; null unless a select question, [] for ranges.
                    "answerOptions": (
                        [{"id": rng.randrange(10**8, 10**9), "text": t} for t in ("Yes", "Partly", "No")]
                        if kind == "SINGLE_SELECT"
                        else ([] if kind == "RANGE" else None)
                    ),
                    "updaterUserId": "-1" if system else rng.choice(self._user_ids),
                    "created": created,
                    "updated": created,
                }
                questions.append(question)
            out.append(
                {
                    "scorecardId": self._id(rng),
                    "scorecardName": names[i % len(names)],
                    "workspaceId": workspaces[i % len(workspaces)],
                    "enabled": i != 3,
                    "updaterUserId": "-1" if system else rng.choice(self._user_ids),
                    "created": created,
                    "updated": self._stamp(rng, rng.uniform(1, 100)),
                    "reviewMethod": "AUTOMATIC" if automatic else "MANUAL",
                    "questions": questions,
                }
            )
        return out

    @cached_property
    def trackers(self) -> list[dict]:
        """``GET /v2/settings/trackers``: a few per workspace; a built-in one without creator or keywords."""
        rng = self._rng("trackers")
        names = ["Competitors", "Pricing", "Next steps", "Security", "Budget", "Timeline", "Integrations"]
        out = []
        for i, name in enumerate(names):
            ws = self.gong.workspaces[i % len(self.gong.workspaces)]["id"]
            builtin = i == 0
            created = self._stamp(rng, rng.uniform(100, 700))
            out.append(
                {
                    "trackerId": self._id(rng),
                    "trackerName": name,
                    "workspaceId": ws,
                    "languageKeywords": []
                    if builtin
                    else [
                        {
                            "language": rng.choice(["eng", "mul"]),
                            "keywords": [name.lower(), f"{name.lower()} plan"],
                            "includeRelatedForms": rng.random() < 0.5,
                        }
                    ],
                    "affiliation": rng.choice(["Anyone", "Company", "NonCompany"]),
                    "partOfQuestion": rng.random() < 0.3,
                    "saidAt": rng.choice(["Anytime", "First", "Last"]),
                    "saidAtInterval": None if i % 2 else 5,
                    "saidAtUnit": None if i % 2 else "minutes",
                    "saidInTopics": [] if i % 3 else ["Pricing"],
                    "filterQuery": "{}" if i % 2 else '{"sort": null, "search": null}',
                    "created": created,
                    "creatorUserId": None if builtin else rng.choice(self._user_ids),
                    "updated": self._stamp(rng, rng.uniform(1, 90)),
                    "updaterUserId": None if builtin else rng.choice(self._user_ids),
                }
            )
        return out

    @cached_property
    def call_outcomes(self) -> list[dict]:
        """``GET /v2/call-outcomes`` (no ids: the outcome's name is its key)."""
        rows = [
            ("Meeting booked", "CONNECTED", "POSITIVE", "COMPLETE", None, "ANSWERED"),
            ("Interested", "CONNECTED", "POSITIVE", None, None, "ANSWERED"),
            ("Not interested", "CONNECTED", "NEGATIVE", "COMPLETE_AND_REMOVE", None, "ANSWERED"),
            ("Do not call", "CONNECTED", "NEGATIVE", "COMPLETE_AND_REMOVE", "MARK_AS_OPT_OUT", "ANSWERED"),
            ("Left voicemail", "NOT_CONNECTED", "NEUTRAL", None, None, "NOT_ANSWERED"),
            ("No answer", "NOT_CONNECTED", "NEUTRAL", None, None, "NOT_ANSWERED"),
            ("Wrong number", "NOT_CONNECTED", "NEGATIVE", "COMPLETE_AND_REMOVE", None, "NOT_ANSWERED"),
        ]
        out = []
        for i, (name, connect, sentiment, todo, automation, category) in enumerate(rows):
            item = {
                "callOutcome": name,
                "displayOrder": i + 1,
                "connectStatus": connect,
                "sentiment": sentiment,
                "todoAction": todo,
                "automation": automation,
                "category": category,
            }
            if automation is None and i % 2:
                del item["automation"]  # omitted rather than null: the tap still has the column
            out.append(item)
        return out

    # ---------------------------------------------------------------------------------------------- library
    @cached_property
    def _library(self) -> tuple[list[dict], dict[str, dict]]:
        rng = self._rng("library")
        calls = [c for c in self.gong.calls if not c.is_private]
        folders: list[dict] = []
        content: dict[str, dict] = {}
        layout = [
            ["Win/Loss", "Discovery calls", "Onboarding"],
            ["Demos"],
        ]  # workspaces past these: no folders
        for wi, children in enumerate(layout[: len(self.gong.workspaces)]):
            ws = self.gong.workspaces[wi]["id"]
            root = {
                "id": self._id(rng),
                "name": "Public Folders",
                "parentFolderId": None,
                "createdBy": None,
                "updated": self._stamp(rng, rng.uniform(30, 300)),
                "_workspace": ws,
            }
            folders.append(root)
            for name in children:
                folders.append(
                    {
                        "id": self._id(rng),
                        "name": name,
                        "parentFolderId": root["id"],
                        "createdBy": rng.choice(self._user_ids),
                        "updated": self._stamp(rng, rng.uniform(1, 30)),
                        "_workspace": ws,
                    }
                )
        for folder in folders:
            items = []
            empty = folder["name"] == "Onboarding"
            for _ in range(0 if empty or not calls else rng.randint(2, 6)):
                call = calls[rng.randrange(len(calls))]
                items.append(self._snippet(rng, call))
            if folder["name"] == "Win/Loss" and items:
                # The same call filed a second time, as another snippet (`created` tells them apart).
                twin = dict(items[0])
                call = self.gong.get(twin["id"])
                assert call is not None
                items.append({**self._snippet(rng, call), "note": "Second snippet of the same call"})
            content[folder["id"]] = {
                "id": folder["id"],
                "name": folder["name"],
                "createdBy": folder["createdBy"],
                "updated": folder["updated"],
                "calls": items,
            }
        return folders, content

    def _snippet(self, rng: random.Random, call: GongCall) -> dict:
        start = rng.randrange(0, 1800)
        item = {
            "id": call.id,
            "title": f"Call {call.id[-4:]}",
            "note": None if rng.random() < 0.4 else "Great objection handling",
            "addedBy": rng.choice(self._user_ids),
            "created": self._stamp(rng, rng.uniform(0, 60)),
            "url": f"https://app.gong.io/call?id={call.id}",
            "snippet": {"fromSec": start, "toSec": start + rng.randrange(30, 600)},
        }
        if rng.random() < 0.2:
            del item["note"]  # omitted: comes out null
        return item

    @property
    def folders(self) -> list[dict]:
        """All public folders, API shape plus ``_workspace`` (the workspace they are listed under)."""
        return self._library[0]

    def folder_content(self, folder_id: str) -> dict | None:
        content = self._library[1].get(folder_id)
        if content is None or not self.gong.deleted:
            return content
        return {**content, "calls": [c for c in content["calls"] if c["id"] not in self.gong.deleted]}

    # ---------------------------------------------------------------------------------------------- reviews
    @cached_property
    def _base_answered(self) -> list[dict]:
        rng = self._rng("answered")
        cards = [s for s in self.scorecards if s["enabled"]]
        limit = self.gong.now - timedelta(hours=1)
        out = []
        for call in self.gong.calls:
            if call.is_private or rng.random() >= 0.25:
                continue
            for _ in range(2 if rng.random() < 0.05 else 1):
                card = cards[rng.randrange(len(cards))]
                review_time = call.started + timedelta(minutes=rng.randrange(20, 20 * 24 * 60))
                if review_time >= limit:
                    continue
                out.append(self._review(rng, call, card, review_time))
        return out

    def _review(self, rng: random.Random, call: GongCall, card: dict, review_time: datetime) -> dict:
        automatic = card["reviewMethod"] == "AUTOMATIC"
        answers = []
        for q in card["questions"]:
            na = rng.random() < 0.1
            answer: dict = {
                "questionId": q["questionId"],
                "questionRevisionId": q["questionRevisionId"],
                "isOverall": q["isOverall"],
                "score": None,
                "answerText": None,
                "notApplicable": na,
                "selectedOptions": None,
            }
            if not na:
                if q["questionType"] == "RANGE":
                    answer["score"] = rng.randint(int(q["minRange"]), int(q["maxRange"]))
                elif q["questionType"] == "SINGLE_SELECT":
                    answer["selectedOptions"] = [str(rng.choice(q["answerOptions"])["id"])]
                else:
                    answer["answerText"] = rng.choice(
                        ["Clear next steps", "Rushed the close", "Good rapport"]
                    )
            answers.append(answer)
        review = {
            "answeredScorecardId": self._id(rng),
            "scorecardId": card["scorecardId"],
            "scorecardName": card["scorecardName"],
            "callId": call.id,
            "callStartTime": iso_offset(call.started, self.tz),
            "reviewedUserId": call.primary_user_id,
            "reviewerUserId": None if automatic else rng.choice(self._user_ids),
            "reviewMethod": card["reviewMethod"],
            "editorUserId": None,
            "reviewTime": iso_offset(review_time.replace(microsecond=rng.randrange(10**6)), self.tz),
            "visibilityType": rng.choice(
                ["PUBLIC", "PUBLIC", "PRIVATE", "MANAGERS", "MANAGERS_AND_REVIEWEE"]
            ),
            "answers": answers,
        }
        if not automatic and rng.random() < 0.2:
            review["editorUserId"] = rng.choice(self._user_ids)
        elif rng.random() < 0.5:
            del review["editorUserId"]  # omitted, not null
        return review

    @property
    def answered_scorecards(self) -> list[dict]:
        """Every answered scorecard (manual and automatic, late ones included), in API shape."""
        with self._lock:
            reviews = self._base_answered + list(self._late)
        if self.gong.deleted:
            reviews = [r for r in reviews if r["callId"] not in self.gong.deleted]
        return reviews

    def add_review(self, review_time: datetime, method: str = "MANUAL", call_id: str | None = None) -> dict:
        """A review published late: its call is older, its ``reviewTime`` is ``review_time``."""
        with self._lock:
            rng = self._rng("late", len(self._late))
            cards = [s for s in self.scorecards if s["enabled"] and s["reviewMethod"] == method]
            if call_id is not None:
                call = self.gong.get(call_id)
            else:
                old = [
                    c
                    for c in self.gong.calls
                    if not c.is_private and c.started < review_time - timedelta(days=3)
                ]
                call = old[rng.randrange(len(old))] if old else None
            if call is None or not cards:
                raise ValueError("no call or scorecard for a late review")
            review = self._review(rng, call, cards[0], review_time)
            self._late.append(review)
            return review

    def review_day(self, review: dict) -> date:
        return self.local_day(parse_iso(review["reviewTime"]))

    def expected_answered(
        self, from_day: date | None = None, to_day: date | None = None, method: str = "BOTH"
    ) -> list[dict]:
        """Answered scorecards with a review day in ``[from_day, to_day)`` (company zone)."""
        return [
            r
            for r in self.answered_scorecards
            if (method == "BOTH" or r["reviewMethod"] == method)
            and (from_day is None or self.review_day(r) >= from_day)
            and (to_day is None or self.review_day(r) < to_day)
        ]

    # ------------------------------------------------------------------------------------------------ stats
    def _calls_by_day(self) -> dict[date, list[GongCall]]:
        with self._lock:
            if self._by_day_version != self.gong.version:
                by_day: dict[date, list[GongCall]] = {}
                for call in self.gong.calls:
                    by_day.setdefault(self.local_day(call.started), []).append(call)
                self._by_day, self._by_day_version = by_day, self.gong.version
            return self._by_day

    def revise_day(self, day: date) -> None:
        """Gong revises a day's figures while it processes its calls: new values for that day."""
        with self._lock:
            self._revisions[day] = self._revisions.get(day, 0) + 1

    def _revision(self, day: date) -> int:
        with self._lock:
            return self._revisions.get(day, 0)

    def day_activity(self, day: date) -> dict[str, dict[str, list[str]]]:
        """Per user with any activity that day, the fifteen activities as lists of call ids.

        Each call draws its own attendees and, on each of the 14 days from its start, its own events (a listen,
        a share, feedback, a comment), so a call added later only adds activity; a revision of the day adds one
        more listen per revision.
        """
        users = set(self._emails)
        out: dict[str, dict[str, list[str]]] = {}

        def add(user: str, activity: str, call_id: str) -> None:
            if user not in users:
                return
            ids = out.setdefault(user, {a: [] for a in ACTIVITIES})[activity]
            if call_id not in ids:
                ids.append(call_id)

        by_day = self._calls_by_day()
        for call in by_day.get(day, []):
            rng = self._rng("attend", call.id)
            add(call.primary_user_id, "callsAsHost", call.id)
            add(call.primary_user_id, "callsAttended", call.id)
            for _ in range(rng.choice([0, 0, 1, 2])):
                add(rng.choice(self._user_ids), "callsAttended", call.id)
        recent = [c for d in range(14) for c in by_day.get(day - timedelta(days=d), [])]
        for call in recent:
            rng = self._rng("events", call.id, day)
            if rng.random() >= 0.12:
                continue
            actor = rng.choice(self._user_ids)
            given, received = _GIVEN[rng.randrange(len(_GIVEN))]
            if actor == call.primary_user_id and given == "othersCallsListenedTo":
                given = "ownCallsListenedTo"
            add(actor, given, call.id)
            if received:
                add(call.primary_user_id, received, call.id)
            if rng.random() < 0.1:
                add(call.primary_user_id, "callsRequestedFeedback", call.id)
        for revision in range(1, self._revision(day) + 1):
            if recent:
                rng = self._rng("revision", day, revision)
                call = recent[rng.randrange(len(recent))]
                add(rng.choice(self._user_ids), "othersCallsListenedTo", call.id)
        for review in self._reviews_on(day):
            if review["reviewerUserId"]:
                add(review["reviewerUserId"], "callsScorecardsFilled", review["callId"])
            add(review["reviewedUserId"], "callsScorecardsReceived", review["callId"])
        return out

    def _reviews_on(self, day: date) -> list[dict]:
        return [r for r in self.answered_scorecards if self.review_day(r) == day]

    def _call_stats(self, call: GongCall) -> dict[str, float]:
        day = self.local_day(call.started)
        rng = self._rng("interaction", call.id, self._revision(day))
        return {
            "Longest Monologue": rng.randrange(20, 400),
            "Longest Customer Story": rng.randrange(5, 200),
            "Interactivity": round(rng.uniform(0, 10), 1),
            "Patience": round(rng.uniform(0.2, 3), 2),
            "Question Rate": round(rng.uniform(0, 20), 1),
        }

    def interaction(self, from_day: date, to_day: date) -> dict[str, list[dict]]:
        """One ``/v2/stats/interaction`` answer: per user, figures aggregated over all of ``[from_day, to_day)``."""
        by_day = self._calls_by_day()
        per_user: dict[str, list[dict]] = {}
        day = from_day
        while day < to_day:
            for call in by_day.get(day, []):
                if call.imported or call.primary_user_id not in self._emails:
                    continue  # imported calls have no Whisper analysis; a deleted host has no stats
                per_user.setdefault(call.primary_user_id, []).append(self._call_stats(call))
            day += timedelta(days=1)
        out = {}
        for user, figures in per_user.items():
            stats = []
            for name in STAT_NAMES:
                values = [f[name] for f in figures]
                if name.startswith("Longest"):
                    value: float = max(values)
                else:
                    value = round(sum(values) / len(values), 2)
                stats.append({"name": name, "value": value})
            out[user] = stats
        return out

    def expected_daily_activity(self, from_day: date, to_day: date) -> dict[tuple[str, str], dict]:
        """``(user_id, 'YYYY-MM-DD') -> {activity: [call ids]}`` for user-days with any activity."""
        out = {}
        day = from_day
        while day < to_day:
            for user, acts in self.day_activity(day).items():
                if any(acts.values()):
                    out[(user, day.isoformat())] = acts
            day += timedelta(days=1)
        return out

    def expected_interaction_stats(self, from_day: date, to_day: date) -> dict[tuple[str, str], list[dict]]:
        """``(user_id, 'YYYY-MM-DD') -> [{name, value}]``: each day's own one-day aggregate."""
        out = {}
        day = from_day
        while day < to_day:
            for user, stats in self.interaction(day, day + timedelta(days=1)).items():
                out[(user, day.isoformat())] = stats
            day += timedelta(days=1)
        return out


class BadFilter(Exception):
    """A 400 with the given message."""


class GongMoreApi:
    """Handlers for the endpoints above, registered in ``GongApi.handle``'s routes."""

    def __init__(self, api: GongApi) -> None:
        self.api = api
        self.sb = api.sb
        self.data: GongMoreData = api.sb.gong_more

    def routes(self) -> dict:
        return {
            ("GET", "/v2/settings/scorecards"): self.scorecards,
            ("POST", "/v2/stats/activity/scorecards"): self.answered,
            ("GET", "/v2/settings/trackers"): self.trackers,
            ("GET", "/v2/call-outcomes"): self.call_outcomes,
            ("GET", "/v2/library/folders"): self.folders,
            ("GET", "/v2/library/folder-content"): self.folder_content,
            ("POST", "/v2/stats/activity/day-by-day"): self.day_by_day,
            ("POST", "/v2/stats/interaction"): self.interaction,
        }

    def denied(self, method: str, path: str) -> Reply | None:
        """401 naming the scope when the sandbox was told the key lacks it."""
        scope = SCOPES.get((method, path))
        if scope is not None and scope in self.sb.gong_missing_scopes:
            if self.sb.gong_scope_denial == "plain":
                return self.api.error(401, "Access denied")
            return self.api.error(401, f"You don't have permission to use '{scope}' in your app.")
        return None

    # ---------------------------------------------------------------------------------------------- helpers
    @staticmethod
    def _query(req: Request) -> dict[str, str]:
        return {k: v[-1] for k, v in req.query.items()}

    def _workspace(self, req: Request) -> tuple[str | None, Reply | None]:
        ws = self._query(req).get("workspaceId") or None
        if ws is not None and ws not in {w["id"] for w in self.sb.gong.workspaces}:
            return ws, self.api.error(404, "Workspace not found")
        return ws, None

    @staticmethod
    def _day(filt: dict, key: str, required: bool = False) -> date | None:
        value = filt.get(key)
        if value is None:
            if required:
                raise BadFilter(f"{key} is required")
            return None
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise BadFilter(f"Invalid {key}: '{value}' should be in the format YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise BadFilter(f"Invalid {key}: '{value}' should be in the format YYYY-MM-DD") from exc

    def _filter(self, req: Request) -> dict:
        body = req.body
        if req.body_error or not isinstance(body, dict):
            raise BadFilter("Malformed request: the body must be a JSON object")
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise BadFilter("filter is required")
        return filt

    def _paged(self, req: Request, items: list, key: str, empty: str, extra: dict | None = None) -> Reply:
        body = req.body
        fp, page = self.api._page(req, {k: v for k, v in body.items() if k != "cursor"}, body.get("cursor"))
        chunk = items[page * 100 : (page + 1) * 100]
        if not chunk:
            return self.api.error(404, empty)
        return self.api.ok(
            {"records": self.api.page_records(fp, page, len(items), len(chunk)), **(extra or {}), key: chunk}
        )

    # -------------------------------------------------------------------------------------------- endpoints
    def scorecards(self, req: Request) -> Reply:
        return self.api.ok({"scorecards": self.data.scorecards})

    def trackers(self, req: Request) -> Reply:
        ws, missing = self._workspace(req)
        if missing:
            return missing
        items = [t for t in self.data.trackers if ws is None or t["workspaceId"] == ws]
        return self.api.ok({"keywordTrackers": items})

    def call_outcomes(self, req: Request) -> Reply:
        return self.api.ok({"outcomes": self.data.call_outcomes})

    def folders(self, req: Request) -> Reply:
        ws, missing = self._workspace(req)
        if missing:
            return self.api.error(404, NO_FOLDERS)
        items = [
            {k: v for k, v in f.items() if not k.startswith("_")}
            for f in self.data.folders
            if ws is None or f["_workspace"] == ws
        ]
        if not items:
            return self.api.error(404, NO_FOLDERS)
        return self.api.ok({"folders": items})

    def folder_content(self, req: Request) -> Reply:
        folder_id = self._query(req).get("folderId")
        if not folder_id:
            return self.api.error(400, "folderId is required")
        content = self.data.folder_content(folder_id)
        if content is None:
            return self.api.error(404, "Folder not found")
        return self.api.ok(content)

    def answered(self, req: Request) -> Reply:
        try:
            filt = self._filter(req)
            review_from = self._day(filt, "reviewFromDate")
            review_to = self._day(filt, "reviewToDate")
            call_from = self._day(filt, "callFromDate")
            call_to = self._day(filt, "callToDate")
        except BadFilter as exc:
            return self.api.error(400, str(exc))
        method = filt.get("reviewMethod") or "MANUAL"  # Gong's default leaves automatic reviews out
        if method not in ("MANUAL", "AUTOMATIC", "BOTH"):
            return self.api.error(400, f"Invalid reviewMethod: '{method}'")
        reviewed = filt.get("reviewedUserIds")
        cards = filt.get("scorecardIds")
        if review_from is not None and review_from == review_to:
            return self.api.error(404, NO_ANSWERED)  # the exclusive end leaves nothing (Estuary's bug)
        items = []
        for r in self.data.expected_answered(review_from, review_to, method):
            call_day = self.data.local_day(parse_iso(r["callStartTime"]))
            if (call_from is not None and call_day < call_from) or (
                call_to is not None and call_day >= call_to
            ):
                continue
            if reviewed is not None and r["reviewedUserId"] not in {str(u) for u in reviewed}:
                continue
            if cards is not None and r["scorecardId"] not in {str(c) for c in cards}:
                continue
            items.append(r)
        items.sort(key=lambda r: order_key(self.sb.seed, r["answeredScorecardId"]))
        if self.data.unknown_fields:
            items = [{**r, "aiConfidence": 0.9} if r["reviewMethod"] == "AUTOMATIC" else r for r in items]
        return self._paged(req, items, "answeredScorecards", NO_ANSWERED)

    def _stats_range(self, req: Request) -> tuple[date, date] | Reply:
        try:
            filt = self._filter(req)
            from_day = self._day(filt, "fromDate", required=True)
            to_day = self._day(filt, "toDate", required=True)
        except BadFilter as exc:
            return self.api.error(400, str(exc))
        assert from_day is not None and to_day is not None
        if to_day > self.data.today():
            return self.api.error(400, "toDate should not exceed the current day")
        if from_day > to_day:
            return self.api.error(400, "fromDate should be before toDate")
        return from_day, to_day

    def _stats_header(self, from_day: date, to_day: date) -> dict:
        return {
            "timeZone": self.data.time_zone,
            "fromDateTime": self.data.midnight(from_day).isoformat(),
            "toDateTime": self.data.midnight(to_day).isoformat(),
        }

    def day_by_day(self, req: Request) -> Reply:
        span = self._stats_range(req)
        if not isinstance(span, tuple):
            return span
        from_day, to_day = span
        days = [from_day + timedelta(days=i) for i in range((to_day - from_day).days)]
        per_day = {d: self.data.day_activity(d) for d in days}
        users = sorted(
            {u for acts in per_day.values() for u in acts}, key=lambda u: order_key(self.sb.seed, u)
        )
        empty = dict.fromkeys(ACTIVITIES, ())
        items = [
            {
                "userId": user,
                "userEmailAddress": self.data._emails.get(user),
                "userDailyActivityStats": [
                    {
                        **{a: list(v) for a, v in per_day[d].get(user, empty).items()},
                        "fromDate": self.data.midnight(d).isoformat(),
                        "toDate": self.data.midnight(d + timedelta(days=1)).isoformat(),
                    }
                    for d in days
                ],
            }
            for user in users
        ]
        return self._paged(
            req, items, "usersDetailedActivities", NO_STATS, self._stats_header(from_day, to_day)
        )

    def interaction(self, req: Request) -> Reply:
        span = self._stats_range(req)
        if not isinstance(span, tuple):
            return span
        from_day, to_day = span
        stats = self.data.interaction(from_day, to_day)
        items = [
            {
                "userId": user,
                "userEmailAddress": self.data._emails.get(user),
                "personInteractionStats": figures,
            }
            for user, figures in sorted(stats.items(), key=lambda kv: order_key(self.sb.seed, kv[0]))
        ]
        return self._paged(
            req, items, "peopleInteractionStats", NO_STATS, self._stats_header(from_day, to_day)
        )

    # -------------------------------------------------------------------------------------------- control
    def control(self, route: tuple[str, str], body: dict) -> bytes | None:
        """``POST /_sandbox/gong/add_review`` and ``POST /_sandbox/gong/revise_day``; None for other routes."""
        if route == ("POST", "/_sandbox/gong/add_review"):
            review = self.data.add_review(parse_iso(body["review_time"]), body.get("method", "MANUAL"))
            return dumps({"answeredScorecardId": review["answeredScorecardId"]})
        if route == ("POST", "/_sandbox/gong/delete_calls"):
            return dumps({"deleted": self.data.gong.delete_calls(body["ids"])})
        if route == ("POST", "/_sandbox/gong/revise_day"):
            self.data.revise_day(date.fromisoformat(body["day"]))
            return dumps({"ok": True})
        return None
