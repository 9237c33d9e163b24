"""Shared helpers for the sandbox's generators: word pools, ISO-8601 formatting and parsing, ``dumps``, the
byte-bounded ``ByteLRU``, the deterministic ``order_key`` and the rng helpers (lumpy day weights, tokens,
sentences)."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

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


def _email(text: str) -> str:
    """Lower-case ASCII e-mail text from names with accents or apostrophes (José O'Brien -> jose.obrien)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace("'", "").replace(" ", "")


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


def dumps(obj: object) -> bytes:
    """Compact JSON, UTF-8, non-ASCII kept as is (as the real APIs send it)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
