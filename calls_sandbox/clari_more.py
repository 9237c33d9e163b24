"""Clari Copilot beyond calls: ``/users``, ``/v2/topics``, ``/scorecard`` and ``/scorecard-template``.

Faithful to ``reference/more_endpoints.md`` §13 (the published spec; observed data exists only for users):

- ``GET /users``: not paginated, ``manager_id`` omitted when empty. The users are ``ClariData.users``, the same
  ids the calls carry in ``users[].userId`` (served by ``ClariApi.users``; ground truth here).
- ``GET /v2/topics``: not paginated; optional strict ``filterModifiedGt`` / ``filterModifiedLt`` on a modified
  time the records do not carry (``+0000`` offsets accepted). Keyword topics carry ``keyword_topic`` and no
  ``custom_topic``, custom ones the reverse (the absent one is omitted, as Clari omits empty fields).
- ``GET /scorecard``: ``skip`` (0..10000, else 400 as ``/calls``), ``limit`` (1..100, default 50), strict
  ``filterTimeGt`` / ``filterTimeLt`` on a scorecard time the records do not carry, ``filterRepId``,
  ``filterScorerId``; ``pagination`` ``{"matched", "nextPageSkip"?, "hasMore"}`` (``nextPageSkip`` absent on
  the last page); order by id. ``remark`` omitted when empty. Any number of scorecards (more than 10,000 makes
  the skip cap bite).
- ``GET /scorecard-template``: not paginated; the list under ``scoreCardTemplates`` (the spec) or
  ``scorecardTemplates`` (what amp-labs' parser reads), chosen by the sandbox's ``clari_template_key``.

Scorecard and topic ``type`` values are the sandbox's own guesses (the spec shows none but ``CALL``).
Scorecard times follow their call (scored hours to days after it) unless ``scorecard_span_days`` is set:
then they are evenly spaced whole seconds over the last ``scorecard_span_days`` (several per second when
dense), so any split second of a bisection holds scorecards.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .common import dumps
from .http_types import Reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from .clari import ClariApi
    from .clari_data import ClariData
    from .http_types import Request

TEMPLATE_KEYS = ("scoreCardTemplates", "scorecardTemplates")
SKILLS = [
    ("Discovery", ["Asked about current process", "Quantified the pain", "Identified decision makers"]),
    ("Presentation", ["Tailored the demo", "Linked features to pains"]),
    ("Objection handling", ["Acknowledged the concern", "Answered with evidence"]),
    ("Closing", ["Agreed next steps", "Confirmed timeline", "Booked follow-up"]),
    ("Rapport", ["Set an agenda", "Listened more than talked"]),
]
REMARKS = [
    "Great discovery",
    "Talk less, ask more",
    "Follow up on pricing",
    "Solid call",
    "Needs a clear next step",
]
TOPIC_WORDS = [
    "Pricing",
    "Security",
    "Onboarding",
    "Integrations",
    "Competitors",
    "Renewal",
    "Budget",
    "Legal",
]


def _hex_id(rng: random.Random) -> str:
    """A Mongo-style ObjectId (24 hex digits)."""
    return f"{rng.getrandbits(96):024x}"


@dataclass(frozen=True)
class Scorecard:
    id: str
    time: datetime  # the scorecard time filterTimeGt/Lt filter on; not in the record
    record: dict


@dataclass(frozen=True)
class Topic:
    topic_id: str
    modified: datetime  # filterModifiedGt/Lt filter on it; not in the record
    record: dict


class ClariMoreData:
    """Ground truth for users, topics, scorecards and templates (deterministic for the same seed and sizes)."""

    def __init__(
        self,
        seed: int,
        now: datetime,
        clari: ClariData,
        *,
        scorecards: int,
        topics: int,
        templates: int,
        template_key: str,
        scorecard_span_days: float | None = None,
    ) -> None:
        if template_key not in TEMPLATE_KEYS:
            raise ValueError(f"template_key must be one of {TEMPLATE_KEYS}")
        self.seed = seed
        self.now = now
        self.clari = clari
        self.template_key = template_key
        self.scorecard_span_days = scorecard_span_days
        self._lock = threading.Lock()
        self._added = 0
        rng = random.Random(f"clari-more:{seed}")
        customer_id = _hex_id(rng)
        self.templates: list[dict] = []
        for i in range(templates):
            skills = rng.sample(SKILLS, rng.randint(2, len(SKILLS)))
            questions, order = [], 1
            for skill, labels in skills:
                for label in rng.sample(labels, rng.randint(1, len(labels))):
                    questions.append({"skill": skill, "label": label, "order": str(order)})
                    order += 1
            self.templates.append(
                {
                    "id": _hex_id(rng),
                    "customer_id": customer_id,
                    "name": f"{['Discovery', 'Demo', 'Renewal', 'Cold call', 'QBR', 'Negotiation'][i % 6]} scorecard"
                    + (f" v{i // 6 + 1}" if i >= 6 else ""),
                    "type": "CALL",
                    "questions": questions,
                }
            )
        self.topics: list[Topic] = []
        team_ids = [_hex_id(rng) for _ in range(4)]
        for i in range(topics):
            word = TOPIC_WORDS[i % len(TOPIC_WORDS)] + (
                f" {i // len(TOPIC_WORDS) + 1}" if i >= len(TOPIC_WORDS) else ""
            )
            record: dict = {
                "topic_id": _hex_id(rng),
                "topic_name": word,
                "type": "KEYWORD" if rng.random() < 0.6 else "CUSTOM",
                "team_ids": rng.sample(team_ids, rng.randint(0, 3)),
            }
            if record["type"] == "KEYWORD":
                record["keyword_topic"] = {
                    "trackers": [
                        f"{word.lower()} {w}" for w in rng.sample(["cost", "plan", "deal", "risk", "team"], 2)
                    ]
                }
            else:
                record["custom_topic"] = {
                    "description": f"Conversations about {word.lower()}",
                    "status": rng.choice(["ACTIVE", "ACTIVE", "INACTIVE"]),
                }
            modified = now - timedelta(days=rng.uniform(0, 500), milliseconds=rng.randrange(1000))
            self.topics.append(Topic(record["topic_id"], modified, record))
        self._scorecards: list[Scorecard] = []
        self._make_scorecards(rng, scorecards, None)

    # ------------------------------------------------------------------------------------------ generation
    def _make_scorecards(
        self, rng: random.Random, n: int, times: Callable[[int], datetime] | None
    ) -> list[Scorecard]:
        users = [u["id"] for u in self.clari.users]
        calls = self.clari.index()
        if not users or not calls or not self.templates:
            return []  # a scorecard scores a call with a template: none without them
        span = self.scorecard_span_days
        made = []
        seen = {s.id for s in self._scorecards}
        for i in range(n):
            call = calls[rng.randrange(len(calls))]
            template = self.templates[rng.randrange(len(self.templates))]
            if times is not None:
                when = times(i)
            elif span is not None:
                seconds = int(span * 86400)
                when = (
                    self.now.replace(microsecond=0)
                    - timedelta(seconds=seconds)
                    + timedelta(seconds=i * seconds // n)
                )
            else:
                scored = call.time + timedelta(hours=rng.uniform(1, 240), milliseconds=rng.randrange(1000))
                when = min(
                    scored,
                    self.now - timedelta(seconds=rng.randrange(60, 3600), milliseconds=rng.randrange(1000)),
                )
            sid = _hex_id(rng)
            while sid in seen:
                sid = _hex_id(rng)
            seen.add(sid)
            scores = [
                {"score": rng.randint(1, 5), "skill": q["skill"], "label": q["label"], "order": q["order"]}
                for q in template["questions"]
            ]
            record: dict = {
                "id": sid,
                "type": rng.choice(["MANUAL", "MANUAL", "AI"]),
                "rep": rng.choice(users),
                "scorer": rng.choice(users),
                "template_id": template["id"],
                "call_id": call.id,
                "total_score": round(sum(s["score"] for s in scores) / len(scores), 2) if scores else 0,
            }
            if rng.random() < 0.6:
                record["remark"] = rng.choice(REMARKS)
            record["questions_score"] = scores
            made.append(Scorecard(sid, when, record))
        with self._lock:
            self._scorecards = sorted([*self._scorecards, *made], key=lambda s: s.id)
        return made

    def add_scorecards(self, n: int, time_from: datetime, time_to: datetime) -> list[dict]:
        """``n`` new scorecards with times spread over [time_from, time_to); returns their records."""
        with self._lock:
            self._added += 1
            rng = random.Random(f"clari-more:{self.seed}:late:{self._added}")
        span = time_to - time_from
        made = self._make_scorecards(rng, n, lambda i: time_from + span * (i / max(1, n)))
        return [dict(s.record) for s in made]

    # ------------------------------------------------------------------------------------------ ground truth
    def expected_users(self) -> list[dict]:
        """``GET /users`` as served (``manager_id`` absent when empty)."""
        return [dict(u) for u in self.clari.users]

    def expected_topics(
        self, modified_gt: datetime | None = None, modified_lt: datetime | None = None
    ) -> list[dict]:
        return [
            t.record
            for t in self.topics
            if (modified_gt is None or t.modified > modified_gt)
            and (modified_lt is None or t.modified < modified_lt)
        ]

    def scorecard_index(self) -> list[Scorecard]:
        with self._lock:
            return list(self._scorecards)

    def expected_scorecards(
        self, time_gt: datetime | None = None, time_lt: datetime | None = None
    ) -> list[dict]:
        """Scorecards with ``time_gt < time < time_lt`` (strict, as the filters), in the API's order (by id)."""
        return [
            s.record
            for s in self.scorecard_index()
            if (time_gt is None or s.time > time_gt) and (time_lt is None or s.time < time_lt)
        ]

    def expected_templates(self) -> list[dict]:
        return list(self.templates)


class ClariMoreApi:
    """The handlers, registered in ``ClariApi.handle``'s routes; auth and 400s are ``ClariApi``'s."""

    def __init__(self, api: ClariApi, data: ClariMoreData) -> None:
        self.api = api
        self.data = data

    def routes(self) -> dict[str, Callable[[Request], Reply]]:
        return {
            "/v2/topics": self.topics,
            "/scorecard": self.scorecards,
            "/scorecard-template": self.templates,
        }

    def topics(self, req: Request) -> Reply:
        """``GET /v2/topics`` (§13): every topic, optionally filtered by (hidden) modified time."""
        gt, lt = self.api._date(req, "filterModifiedGt"), self.api._date(req, "filterModifiedLt")
        return Reply(200, dumps({"topics": self.data.expected_topics(gt, lt)}))  # type: ignore[arg-type]

    def scorecards(self, req: Request) -> Reply:
        """``GET /scorecard`` (§13): offset paging, skip at most 10,000."""
        skip = self.api._int(req, "skip", 0, 0, 10000)
        limit = self.api._int(req, "limit", 50, 1, 100)
        gt, lt = self.api._date(req, "filterTimeGt"), self.api._date(req, "filterTimeLt")
        rep, scorer = self.api._one(req, "filterRepId"), self.api._one(req, "filterScorerId")
        matched = [
            s.record
            for s in self.data.scorecard_index()
            if (gt is None or s.time > gt)  # type: ignore[operator]
            and (lt is None or s.time < lt)  # type: ignore[operator]
            and (not rep or s.record["rep"] == rep)
            and (not scorer or s.record["scorer"] == scorer)
        ]
        chunk = matched[skip : skip + limit]
        pagination: dict = {"matched": len(matched)}
        has_more = skip + len(chunk) < len(matched)
        if has_more:
            pagination["nextPageSkip"] = skip + len(chunk)
        pagination["hasMore"] = has_more
        return Reply(200, dumps({"scorecards": chunk, "pagination": pagination}))

    def templates(self, req: Request) -> Reply:
        """``GET /scorecard-template`` (§13): the list under either spelling of its key."""
        return Reply(200, dumps({self.data.template_key: self.data.expected_templates()}))
