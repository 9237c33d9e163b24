"""Date windows, the bookmark watermark, and what the look-back already emitted (kept in STATE).

- `Window`: a half-open range [start, end) of the replication key (cut into parts by `splitting`).
- `ReadPlan`: what a run reads: a first run's backfill, a full look-back (`lookback_days`, at most once per
  `lookback_interval_hours`), or a short overlap before the bookmark.
- `EmittedSummary`: a bounded record, per day, of the records the look-back already emitted (and whether a
  Gong call's transcript came with it), so a re-read fetches transcripts or Clari details only for what is new.
"""

from __future__ import annotations

import base64
import hashlib
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta

from tap_calls.bookmarks import full_read_due
from tap_calls.dates import ceil_second, iso, parse_datetime

if t.TYPE_CHECKING:
    from collections.abc import Mapping

# Between full look-backs a run re-reads this much before its bookmark (interface.md, "The look-back interval").
SHORT_OVERLAP = timedelta(hours=3)


class Window(t.NamedTuple):
    """A half-open range [start, end) of replication-key instants."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{iso(self.start)} to {iso(self.end)}"


@dataclass(frozen=True)
class ReadPlan:
    """The range one run reads, and whether it is a full look-back (a first run's backfill counts as one)."""

    start: datetime
    end: datetime
    full_lookback: bool
    first_run: bool

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)


def plan_read(
    *,
    start_date: datetime,
    end: datetime,
    bookmarks: list[datetime | None],
    lookback: timedelta,
    interval_hours: float,
    last_full_lookback: t.Any,
    now: datetime,
) -> ReadPlan:
    """What to read this run (interface.md, "Incremental behaviour" and "The look-back interval").

    - A stream without a bookmark: a backfill from `start_date`.
    - Otherwise the full look-back (from the oldest bookmark - `lookback`) when `interval_hours` is 0, when
      none was done, or when the last one started at least `interval_hours` - 1 h ago; else a re-read of
      `SHORT_OVERLAP` before the oldest bookmark.
    The end is rounded up to a whole second: the APIs' filters take whole seconds.
    """
    end = ceil_second(end)
    if not bookmarks or any(b is None for b in bookmarks):
        return ReadPlan(start_date, end, full_lookback=True, first_run=True)
    oldest = min(t.cast("list[datetime]", bookmarks))
    due = full_read_due(last_full_lookback, now, interval_hours)
    start = oldest - (lookback if due else SHORT_OVERLAP)
    return ReadPlan(max(start_date, start), end, full_lookback=due, first_run=False)


class EmittedSummary:
    """What the look-back already emitted, compact enough for STATE: per UTC day, 36-bit hashed entries.

    Each entry is a 36-bit hash of a token (Gong: the call id; Clari: the call id and a hash of its list
    item) and one flag bit (Gong: the call's transcript was emitted). A false "already emitted" needs a new
    token to share 36 bits with one of its day's: about once in 10^8 late records at 1,000 records a day.
    A day's entries are stored sorted and Rice-coded (about 3.6 bytes each), then base85: 7,000 calls of a
    7-day look-back take about 31 KB.

    A day with no entry at all is unknown, so everything of that day is fetched again: when the summary
    outgrows its budget, the oldest days are dropped first, which costs requests, never records.

    `max_entries` bounds it in memory the same way (oldest days first), so a backfill of 100,000 calls does
    not hold 100,000 entries until its watermark passes them: `to_state` only ever writes the newest days
    that fit, and an entry takes at least 3 characters there, so `max_entries = budget_chars // 2` never
    drops a day that STATE would have kept.
    """

    VERSION = 2
    HASH_BITS = 36

    def __init__(
        self, days: dict[str, dict[int, int]] | None = None, *, max_entries: int | None = None
    ) -> None:
        self.days: dict[str, dict[int, int]] = days or {}
        self.max_entries = max_entries
        self.entries = sum(len(d) for d in self.days.values())
        self._dropped_through = ""  # once a day is dropped, it and every older day stay unknown
        self._drop_oldest_days()

    @staticmethod
    def day_of(instant: datetime) -> str:
        """The summary's day key: the UTC date of a replication value."""
        return iso(instant)[:10]

    @classmethod
    def _hash(cls, token: str) -> int:
        digest = hashlib.blake2b(token.encode(), digest_size=5).digest()
        return int.from_bytes(digest, "big") >> (40 - cls.HASH_BITS)

    def lookup(self, instant: datetime, token: str) -> int | None:
        """The flag stored for `token` on the day of `instant`; None when it is not known to be emitted."""
        day = self.days.get(self.day_of(instant))
        return None if day is None else day.get(self._hash(token))

    def add(self, instant: datetime, token: str, flag: int = 1) -> None:
        """Note that the record `token` (replication value `instant`) was emitted; the flag is kept at its max."""
        day_key = self.day_of(instant)
        if day_key <= self._dropped_through:
            return
        day = self.days.setdefault(day_key, {})
        key = self._hash(token)
        if key not in day:
            self.entries += 1
        day[key] = max(flag, day.get(key, 0))
        self._drop_oldest_days()

    def prune(self, oldest: datetime) -> None:
        """Forget days before the day of `oldest` (the next full look-back starts there)."""
        first = self.day_of(oldest)
        for day in [d for d in self.days if d < first]:
            self.entries -= len(self.days.pop(day))

    def _drop_oldest_days(self) -> None:
        while self.max_entries is not None and self.entries > self.max_entries and self.days:
            oldest = min(self.days)
            self.entries -= len(self.days.pop(oldest))
            self._dropped_through = max(self._dropped_through, oldest)

    def to_state(self, budget_chars: int) -> dict[str, t.Any]:
        """The JSON form for STATE, at most about `budget_chars` characters: the newest days that fit."""
        encoded: dict[str, str] = {}
        used = 0
        for day in sorted(self.days, reverse=True):
            text = _rice_encode(sorted((h << 1) | f for h, f in self.days[day].items()), self.HASH_BITS + 1)
            if used + len(text) + 20 > budget_chars:
                break
            encoded[day] = text
            used += len(text) + 20
        return {"v": self.VERSION, "days": dict(sorted(encoded.items()))}

    @classmethod
    def from_state(
        cls, value: Mapping[str, t.Any] | None, *, max_entries: int | None = None
    ) -> EmittedSummary:
        """Read what `to_state` wrote; anything else (a first-release STATE has none) is an empty summary."""
        if (
            not isinstance(value, dict)
            or value.get("v") != cls.VERSION
            or not isinstance(value.get("days"), dict)
        ):
            return cls(max_entries=max_entries)
        days: dict[str, dict[int, int]] = {}
        for day, text in value["days"].items():
            try:
                parse_datetime(day)
                entries = _rice_decode(text, cls.HASH_BITS + 1)
            except (ValueError, TypeError):
                continue
            days[day] = {e >> 1: e & 1 for e in entries}
        return cls(days, max_entries=max_entries)


def _rice_encode(values: list[int], bits: int) -> str:
    """Sorted `bits`-bit integers as Rice-coded gaps, base85: `<count>:<parameter>:<data>`."""
    if not values:
        return "0:0:"
    k = max(0, (1 << bits).bit_length() - 1 - max(1, len(values)).bit_length())
    out: list[str] = []
    previous = 0
    for value in values:
        gap = value - previous
        previous = value
        out.append("1" * (gap >> k) + "0" + (format(gap & ((1 << k) - 1), f"0{k}b") if k else ""))
    stream = "".join(out)
    stream += "0" * (-len(stream) % 8)
    data = int(stream, 2).to_bytes(len(stream) // 8, "big")
    return f"{len(values)}:{k}:{base64.b85encode(data).decode()}"


def _rice_decode(text: str, bits: int) -> list[int]:
    """The integers `_rice_encode` wrote.

    Raises:
        ValueError: `text` is not what `_rice_encode` writes.
    """
    count_text, k_text, data_text = text.split(":", 2)
    count, k = int(count_text), int(k_text)
    data = base64.b85decode(data_text)
    stream = format(int.from_bytes(data, "big"), f"0{len(data) * 8}b") if data else ""
    values: list[int] = []
    position, previous = 0, 0
    for _ in range(count):
        end = stream.index("0", position)
        quotient = end - position
        remainder = int(stream[end + 1 : end + 1 + k], 2) if k else 0
        if end + 1 + k > len(stream):
            raise ValueError("truncated summary")
        position = end + 1 + k
        previous += (quotient << k) | remainder
        values.append(previous)
    if values and values[-1] >= 1 << bits:
        raise ValueError("summary value out of range")
    return values
