"""The bookmark rules of every stream whose own run, not the SDK, moves its bookmark.

interface.md, "Incremental behaviour", "The look-back interval" and "Third release" > "Progress that survives
every stop". What these rules read and write in a stream's STATE (`bookmarks.<stream>`):

- `replication_key`, `replication_key_value`: the bookmark. An instant (RFC 3339, as the API wrote it) for the
  windowed streams (`calls` with `parties`, `transcripts`, `transcript_sentences`; `clari_calls` with
  `clari_transcript_lines`), a company day (`YYYY-MM-DD`) for the day streams (`answered_scorecards`,
  `user_daily_activity`, `interaction_stats`). Read by `bookmark_of` / `bookmark_day`; moved only forward, and
  only past records that were emitted, by `advance_bookmark` / `advance_bookmark_day`.
- `finished_windows` and `finished_for`: the windows finished past the bookmark (merged ranges) and the streams
  they were read for; a later run skips them only when they were read for every stream it reads
  (`finished_windows_state`, written by `finished_windows_extra`). Windowed streams keep
  `[[start, end, newest value or null], ...]` (progress.FinishedWindows), day streams `[[first day, end day],
  ...]` (`FinishedDays`, the end exclusive).
- the time of the last periodic full read (`FullReadStamp`): `full_lookback_at` (windowed and day streams),
  `last_full_read` (library_folder_calls, clari_scorecards), `last_complete_read` (call_ids, clari_call_ids),
  each in the format it has always been written in.

`BookmarkedByRun` is the one override of the SDK's per-record bookmark, shared by every stream above that has a
replication key.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from singer_sdk import Stream
from typing_extensions import override

from tap_calls.dates import iso, parse_datetime

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from singer_sdk.helpers.types import Context

ONE_DAY = timedelta(days=1)
# At most this many finished ranges are kept in STATE (a handful in practice: adjacent ranges merge, and the
# bookmark swallows the leading ones). Past it the latest are dropped: read again later, never lost.
MAX_FINISHED_RANGES = 40
# A full read is due when the last one is older than the interval minus this, so a daily pipeline whose
# start time drifts a little still gets it every run rather than every other run.
INTERVAL_SLACK = timedelta(hours=1)


class BookmarkedByRun(Stream):
    """A stream whose bookmark its run moves (`advance_bookmark`, `advance_bookmark_day`), never the SDK.

    The SDK moves a bookmark to the newest replication value of every record it writes. These streams read
    windows that finish in any order (and children emit with their parent's windows), so the newest value
    seen is not a point before which everything was emitted: a stop would then skip what was not. The SDK has
    no public way to turn that off (`is_sorted` and `check_sorted` only choose between a bookmark and progress
    markers), so this overrides its private hook, `Stream._increment_stream_state` (private SDK API, guarded by
    tests/unit/test_sdk_private_names.py), with a no-op: the only override of it in tap-calls.
    """

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        # private SDK API: the bookmark moves only when the stream's run commits a finished window or day.
        return


# ------------------------------------------------------------------------------------------------ bookmark
def bookmark_of(stream: Stream) -> datetime | None:
    """`stream`'s bookmark as an instant; None without one (or with one for another replication key).

    Raises:
        ValueError: the bookmark is not a date-time (inputs.usable_state drops such a STATE entry first).
    """
    state = stream.stream_state
    if state.get("replication_key") == stream.replication_key and state.get("replication_key_value"):
        return parse_datetime(state["replication_key_value"])
    return None


def bookmark_day(stream: Stream) -> date | None:
    """A day stream's bookmark: the last company day whose records (and every earlier day's) were emitted;
    None without one, with one for another replication key, or with one that names no day."""
    state = stream.stream_state
    value = state.get("replication_key_value")
    if state.get("replication_key") != stream.replication_key or not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _set_bookmark(stream: Stream, value: str) -> None:
    state = stream.stream_state
    state["replication_key"] = stream.replication_key
    state["replication_key_value"] = value
    state.pop("progress_markers", None)
    stream.state_manager.is_flushed = False


def advance_bookmark(stream: Stream, instant: datetime, value: str) -> bool:
    """Move `stream`'s bookmark to `value` (the replication value as the API wrote it; `instant` is its time)
    unless it is already there or later: a look-back re-read never moves a bookmark back. True when it moved."""
    current = bookmark_of(stream)
    if current is not None and current >= instant:
        return False
    _set_bookmark(stream, value)
    return True


def advance_bookmark_day(stream: Stream, day: date) -> bool:
    """Move a day stream's bookmark to `day` unless it is already there or later. True when it moved."""
    current = bookmark_day(stream)
    if current is not None and current >= day:
        return False
    _set_bookmark(stream, day.isoformat())
    return True


def keep(stream: Stream, extra: Mapping[str, t.Any]) -> bool:
    """Set `extra`'s keys in `stream`'s STATE; True (and the STATE marked for writing) when one changed."""
    changed = False
    for key, value in extra.items():
        if stream.stream_state.get(key) != value:
            stream.stream_state[key] = value
            changed = True
    if changed:
        stream.state_manager.is_flushed = False
    return changed


# --------------------------------------------------------------------------------------- finished windows
def finished_windows_state(state: Mapping[str, t.Any], wanted: Iterable[str]) -> t.Any:
    """The `finished_windows` a stream's STATE keeps, or None when they were not read for every stream in
    `wanted` (`finished_for`): a stream selected since (a new child) needs them read again."""
    covered = state.get("finished_for")
    if not isinstance(covered, list) or not set(wanted) <= set(covered):
        return None
    return state.get("finished_windows")


def finished_windows_extra(finished: list[t.Any], streams: Iterable[str]) -> dict[str, t.Any]:
    """The STATE keys of finished windows: `finished` (their `to_state()`), read for `streams`."""
    return {"finished_windows": finished, "finished_for": sorted(streams)}


_P = t.TypeVar("_P", date, datetime)


def uncovered(start: _P, end: _P, covered: Iterable[tuple[_P, _P]]) -> list[tuple[_P, _P]]:
    """[start, end) less the half-open `covered` ranges (any order, may overlap): the parts still to read,
    earliest first. For finished windows (instants) and finished days (dates) alike."""
    parts, cursor = [], start
    for low, high in sorted(covered):
        if high <= cursor or low >= end:
            continue
        if low > cursor:
            parts.append((cursor, min(low, end)))
        cursor = max(cursor, high)
    if cursor < end:
        parts.append((cursor, end))
    return parts


class DayRange(t.NamedTuple):
    """Company days [start, end): `end` is the first day after the range (Gong's exclusive `toDate`)."""

    start: date
    end: date


@dataclass
class FinishedDays:
    """A day stream's finished days: disjoint ranges, earliest first, adjacent ones merged.

    In STATE (`finished_windows`) as `[["2026-03-01", "2026-03-08"], ...]`: ISO dates, the end exclusive, at
    most `MAX_FINISHED_RANGES` (the earliest).
    """

    ranges: list[DayRange] = field(default_factory=list)

    def add(self, days: DayRange) -> None:
        """`days` finished (every record of them emitted); merged with the ranges it touches."""
        merged: list[DayRange] = []
        for rng in sorted([*self.ranges, days]):
            if rng.start >= rng.end:
                continue
            if merged and rng.start <= merged[-1].end:
                merged[-1] = DayRange(merged[-1].start, max(merged[-1].end, rng.end))
            else:
                merged.append(rng)
        self.ranges = merged

    def within(self, days: DayRange) -> FinishedDays:
        """The ranges clipped to `days`."""
        clipped = [DayRange(max(r.start, days.start), min(r.end, days.end)) for r in self.ranges]
        return FinishedDays([r for r in clipped if r.start < r.end])

    def gaps(self, days: DayRange) -> list[DayRange]:
        """`days` less the finished ranges: what is still to read, earliest first."""
        return [DayRange(a, b) for a, b in uncovered(days.start, days.end, self.ranges)]

    def finished_from(self, day: date) -> date | None:
        """The end of the finished run of days that holds `day` (every day from `day` to it is finished);
        None when `day` is not finished."""
        return next((r.end for r in self.ranges if r.start <= day < r.end), None)

    def settle(self, first: date, bookmark: date | None, today: date) -> tuple[date | None, FinishedDays]:
        """The bookmark these finished days allow and the finished days STATE keeps past it.

        `first` is the first day of this run's range (every earlier day was emitted by earlier runs up to
        `bookmark`), `bookmark` the stream's bookmark now, `today` the company's current day. The bookmark
        moves to the last day of the run finished from `first`, never later than yesterday (today's records
        are still coming) nor back. Kept: the finished days after the bookmark and before today.
        """
        end = self.finished_from(first)
        if end is not None:
            day = min(end, today) - ONE_DAY
            if bookmark is None or day > bookmark:
                bookmark = day
        since = first if bookmark is None else max(first, bookmark + ONE_DAY)
        return bookmark, self.within(DayRange(since, today))

    def to_state(self) -> list[list[str]]:
        """The ranges for STATE (see the class)."""
        return [[r.start.isoformat(), r.end.isoformat()] for r in self.ranges[:MAX_FINISHED_RANGES]]

    @classmethod
    def from_state(cls, value: t.Any) -> FinishedDays:
        """The ranges a STATE holds; entries that are not `[first day, end day]` are ignored (those days are
        then read again: never a record lost)."""
        finished = cls()
        for entry in value if isinstance(value, list) else ():
            try:
                start, end = entry
                days = DayRange(date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10]))
            except (TypeError, ValueError):
                continue
            finished.add(days)
        return finished


# ----------------------------------------------------------------------------------- periodic full read
def full_read_due(stamp: t.Any, now: datetime, interval_hours: float) -> bool:
    """Whether the last full read or full look-back (a timestamp kept in STATE) is old enough for another.

    Due when it is at least `interval_hours` minus one hour old (so a pipeline run daily never skips a day for
    starting a few minutes earlier than yesterday), when there is none or it is unreadable; `0` makes every
    run due.
    """
    if not stamp or interval_hours <= 0:
        return True
    try:
        last = parse_datetime(str(stamp))
    except ValueError:
        return True
    return now - last >= timedelta(hours=interval_hours) - INTERVAL_SLACK


def _isoformat(instant: datetime) -> str:
    return instant.isoformat()


@dataclass(frozen=True)
class FullReadStamp:
    """The STATE key holding when a stream last read in full (at most once per interval), and how it is
    written: `iso` (`2026-03-20T12:00:00Z`) or, for the streams that always wrote it so, `datetime.isoformat`
    (`2026-03-20T12:00:00.123456+00:00`). Both read back alike (`full_read_due`)."""

    key: str
    write: Callable[[datetime], str] = iso

    def last(self, state: Mapping[str, t.Any]) -> t.Any:
        """The stamp as STATE holds it (None without one)."""
        return state.get(self.key)

    def due(self, state: Mapping[str, t.Any], now: datetime, interval_hours: float) -> bool:
        """Whether a full read is due at `now` (`full_read_due`)."""
        return full_read_due(self.last(state), now, interval_hours)

    def value(self, started: datetime) -> str:
        """The stamp of a full read that started at `started`."""
        return self.write(started)

    def stamp(self, stream: Stream, started: datetime) -> None:
        """`stream` finished a full read that started at `started`: note it in its STATE."""
        keep(stream, {self.key: self.value(started)})


# `calls`, `clari_calls`: the last full look-back (windowed.WindowedRun.commit).
FULL_LOOKBACK_AT = FullReadStamp("full_lookback_at")
# answered_scorecards, user_daily_activity, interaction_stats: the last full look-back.
DAY_FULL_LOOKBACK_AT = FullReadStamp("full_lookback_at", _isoformat)
# library_folder_calls: the last read of every folder.
FOLDER_CALLS_LAST_FULL_READ = FullReadStamp("last_full_read", _isoformat)
# clari_scorecards: the last full listing.
SCORECARDS_LAST_FULL_READ = FullReadStamp("last_full_read")
# call_ids, clari_call_ids: the last complete listing of the calls that exist.
LAST_COMPLETE_READ = FullReadStamp("last_complete_read")
