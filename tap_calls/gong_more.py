"""Gong beyond calls: workspaces, scorecards, answered scorecards, trackers, call outcomes, the public library,
users' daily activity and interaction stats (interface.md, "Streams beyond calls (second release)").

Full-table streams read everything each run in one request (the library: one per workspace, then one per
folder). The day streams read whole days in the company's time zone: `answered_scorecards` by review day,
`user_daily_activity` and `interaction_stats` by activity day (one day per interaction request: Gong aggregates
over the requested range). Their bookmark is the last completed day, written only once every record of that day
and the days before it has been emitted; the days finished past it are kept in STATE too (bookmarks.py).

Each stream is a short declarative class plus one pure record builder (raw API dict -> record dict).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import typing as t
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from typing_extensions import override

from tap_calls.bookmarks import (
    DAY_FULL_LOOKBACK_AT,
    FOLDER_CALLS_LAST_FULL_READ,
    BookmarkedByRun,
    DayRange,
    FinishedDays,
    advance_bookmark_day,
    bookmark_day,
    finished_windows_extra,
    finished_windows_state,
    keep,
)
from tap_calls.client import FullTableStream as _FullTable
from tap_calls.client import Refused, response_json
from tap_calls.dates import parse_datetime, utc_now
from tap_calls.errors import ScopeMissing
from tap_calls.gong import GongStream
from tap_calls.keys import as_id, snake, snake_keys
from tap_calls.paging import restart_on_expiry
from tap_calls.schemas import gong_more as schemas
from tap_calls.splitting import consecutive

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.scheduler import Scheduler

Record = dict[str, t.Any]

ONE_DAY = timedelta(days=1)
# Review windows: reviews are sparse, so a month per request (paged by 100) keeps a year at 13 requests.
ANSWERED_WINDOW_DAYS = 30
# Day-by-day nests the days per user, so one request can cover several.
DAY_BY_DAY_WINDOW_DAYS = 7
# Before any stats response has named the company's zone, no `toDate` is later than today at UTC-12.
EARLIEST_OFFSET = timedelta(hours=-12)
_FROM = "__from_date_time"  # the response's own window start, handed from parse_response to the builder
DEFAULT_LOOKBACK_INTERVAL_HOURS = 24.0


# ----------------------------------------------------------------------------------------------- builders
def str_id(value: t.Any) -> str | None:
    """Gong's spec says int64, the live API sends strings: either way a string (None stays None)."""
    return as_id(value)


def int_or_none(value: t.Any) -> int | None:
    """`"1"` -> 1 (Gong sends `minRange`/`maxRange` as strings); anything not a number -> None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


_FIELDS: dict[int, tuple[str, ...]] = {}


def _fill(schema: t.Any, raw: Record) -> Record:
    """The contract's fields (None when Gong omits one), then every field Gong sends, snake_case at every depth."""
    fields = _FIELDS.get(id(schema))
    if fields is None:
        fields = _FIELDS[id(schema)] = tuple(schema.to_dict()["properties"])
    record = dict.fromkeys(fields)
    record.update(snake_keys(raw))
    return record


def _cast_ids(record: Record, *keys: str) -> Record:
    for key in keys:
        record[key] = str_id(record.get(key))
    return record


def workspace_record(raw: Record) -> Record:
    return _cast_ids(_fill(schemas.WORKSPACE, raw), "id")


_QUESTION_FIELDS = tuple(schemas.QUESTION.to_dict()["properties"])
_ANSWER_FIELDS = tuple(schemas.ANSWER.to_dict()["properties"])


def scorecard_record(raw: Record) -> Record:
    record = _cast_ids(_fill(schemas.SCORECARD, raw), "scorecard_id", "workspace_id", "updater_user_id")
    questions = []
    for question in record["questions"] or ():
        q = {**dict.fromkeys(_QUESTION_FIELDS), **question}
        _cast_ids(q, "question_id", "question_revision_id", "updater_user_id")
        q["min_range"] = int_or_none(q["min_range"])
        q["max_range"] = int_or_none(q["max_range"])
        if q["answer_options"] is not None:
            q["answer_options"] = [
                {**option, "id": str_id(option.get("id"))} for option in q["answer_options"]
            ]
        questions.append(q)
    record["questions"] = questions if record["questions"] is not None else None
    return record


def answered_scorecard_record(raw: Record) -> Record:
    record = _cast_ids(
        _fill(schemas.ANSWERED_SCORECARD, raw),
        "answered_scorecard_id",
        "scorecard_id",
        "call_id",
        "reviewed_user_id",
        "reviewer_user_id",
        "editor_user_id",
    )
    if record["answers"] is not None:
        answers = []
        for answer in record["answers"]:
            a = _cast_ids({**dict.fromkeys(_ANSWER_FIELDS), **answer}, "question_id", "question_revision_id")
            if a["selected_options"] is not None:
                a["selected_options"] = [str_id(option) for option in a["selected_options"]]
            answers.append(a)
        record["answers"] = answers
    return record


def tracker_record(raw: Record) -> Record:
    record = _cast_ids(
        _fill(schemas.TRACKER, raw), "tracker_id", "workspace_id", "creator_user_id", "updater_user_id"
    )
    record["said_at_interval"] = int_or_none(record["said_at_interval"])
    query = record["filter_query"]
    if query is not None and not isinstance(query, str):
        # Gong sends the JSON encoded as a string; should it ever send the object, keep it a string.
        record["filter_query"] = json.dumps(query, separators=(",", ":"))
    return record


def call_outcome_record(raw: Record) -> Record:
    return _fill(schemas.CALL_OUTCOME, raw)


def library_folder_record(raw: Record, workspace_id: str | None) -> Record:
    record = _cast_ids(_fill(schemas.LIBRARY_FOLDER, raw), "id", "parent_folder_id", "created_by")
    record["workspace_id"] = str_id(workspace_id)
    return record


def library_folder_call_record(raw: Record, folder_id: str) -> Record:
    item = snake_keys(raw)
    record = _fill(schemas.LIBRARY_FOLDER_CALL, {})
    record.update({k: v for k, v in item.items() if k != "id"})
    record["folder_id"] = str_id(folder_id)
    record["call_id"] = str_id(item.get("id"))
    record["added_by"] = str_id(record["added_by"])
    snippet = record["snippet"]
    if isinstance(snippet, dict):
        record["snippet"] = {
            **snippet,
            "from_sec": int_or_none(snippet.get("from_sec")),
            "to_sec": int_or_none(snippet.get("to_sec")),
        }
    return record


def day_of(value: t.Any, fallback: date) -> str:
    """The calendar day a Gong date or date-time names, as written (already the company's zone)."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    return fallback.isoformat()


def daily_activity_records(raw: Record, window_start: date) -> list[Record]:
    """One user's `userDailyActivityStats`, one record per day with at least one activity."""
    out = []
    user = snake_keys({k: v for k, v in raw.items() if k != "userDailyActivityStats"})
    for i, day in enumerate(raw.get("userDailyActivityStats") or ()):
        stats = snake_keys(day)
        record = _fill(schemas.USER_DAILY_ACTIVITY, {})
        record.update(user)
        record.update({k: v for k, v in stats.items() if k not in ("from_date", "to_date")})
        record["user_id"] = str_id(record["user_id"])
        record["date"] = day_of(stats.get("from_date"), window_start + timedelta(days=i))
        for name in schemas.ACTIVITIES:
            if record[name] is not None:
                record[name] = [str_id(call_id) for call_id in record[name]]
        if any(record[name] for name in schemas.ACTIVITIES):
            out.append(record)
    return out


def interaction_record(raw: Record, day: str) -> Record:
    """One user's interaction stats of one day: a number column per statistic, and all of them as `stats`."""
    record = _fill(schemas.INTERACTION, {})
    stats = raw.get("personInteractionStats")
    record.update(snake_keys({k: v for k, v in raw.items() if k != "personInteractionStats"}))
    record["user_id"] = str_id(record["user_id"])
    record["date"] = day
    record["stats"] = (
        None if stats is None else [{"name": s.get("name"), "value": s.get("value")} for s in stats]
    )
    for stat in stats or ():
        if stat.get("name"):
            record[snake(str(stat["name"]).strip().replace(" ", "_"))] = stat.get("value")
    return record


# ------------------------------------------------------------------------------------------- company clock
class CompanyClock:
    """The company's time zone, learnt from the first stats response that names it (shared by the streams)."""

    def __init__(self) -> None:
        self.zone: ZoneInfo | None = None

    def note(self, name: t.Any) -> None:
        if self.zone is None and isinstance(name, str) and name:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                self.zone = ZoneInfo(name)

    def today(self, now: datetime) -> date:
        """The company's current day; before its zone is known, the earliest "today" anywhere (UTC-12)."""
        if self.zone is not None:
            return now.astimezone(self.zone).date()
        return (now.astimezone(UTC) + EARLIEST_OFFSET).date()

    def day_of(self, instant: datetime) -> date:
        """The day an instant falls on: company zone when known, else UTC (the slack day covers the offset)."""
        return instant.astimezone(self.zone or UTC).date()

    def day_after(self, instant: datetime) -> date:
        """The first day starting at or after `instant` (an exclusive end rounded up to whole days)."""
        day = self.day_of(instant)
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone or UTC)
        return day if instant <= midnight else day + ONE_DAY


class Shared:
    """What the streams of one run share: the company clock, the workspace list and the folder list."""

    def __init__(self) -> None:
        self.clock = CompanyClock()
        self.lock = threading.RLock()
        self.workspaces_stream: WorkspacesStream | None = None
        self.folders_stream: LibraryFoldersStream | None = None
        self._workspaces: list[Record] | None = None
        self._folders: list[Record] | None = None

    def workspaces(self) -> list[Record]:
        """`GET /v2/workspaces`, read once per run (for `workspaces` and for listing folders per workspace)."""
        with self.lock:
            if self._workspaces is None:
                assert self.workspaces_stream is not None
                self._workspaces = self.workspaces_stream.fetch_all({})
            return self._workspaces

    def folders(self) -> list[Record]:
        """Every public folder as a record, once, listed per workspace (1 + one request per workspace)."""
        with self.lock:
            if self._folders is None:
                stream = self.folders_stream
                assert stream is not None
                workspace_ids: list[str | None]
                if stream.config.get("workspace_id"):
                    workspace_ids = [str(stream.config["workspace_id"])]
                else:
                    try:
                        workspace_ids = [str_id(w.get("id")) for w in self.workspaces()]
                    except Refused as refused:
                        assert self.workspaces_stream is not None  # its scope is the one missing
                        verdict = self.workspaces_stream.refusal(refused)
                        if not isinstance(verdict, ScopeMissing):
                            raise verdict from None
                        stream.logger.info(
                            "library_folders: no workspace list (the credentials lack %s); folders are "
                            "listed once, with workspace_id null",
                            verdict.scope,
                        )
                        workspace_ids = [None]
                folders: dict[str, Record] = {}
                without_id: list[Record] = []  # each skipped with its own WARNING, never taken for another
                listings = stream.scheduler_imap(stream.list_folders, workspace_ids)
                for workspace_id, raws in zip(workspace_ids, listings, strict=True):
                    for raw in raws:
                        record = library_folder_record(raw, workspace_id)
                        if record["id"] is None:
                            without_id.append(record)
                        else:
                            folders.setdefault(record["id"], record)
                self._folders = [*folders.values(), *without_id]
            return self._folders


# ------------------------------------------------------------------------------------------------ streams
class GongMoreStream(GongStream):
    """Base of the streams here: Gong's auth, errors and empty-404s; a shared clock and lists; the scheduler."""

    def __init__(self, tap: Tap, *, scheduler: Scheduler, shared: Shared, **kwargs: t.Any) -> None:
        super().__init__(tap, scheduler=scheduler, **kwargs)
        self.shared = shared
        self.run_started_at = utc_now()

    @property
    def interval_hours(self) -> float:
        value = self.config.get("lookback_interval_hours")
        return DEFAULT_LOOKBACK_INTERVAL_HOURS if value is None else float(value)

    def scheduler_imap(self, fn: Callable[[t.Any], t.Any], items: Iterable[t.Any]) -> Iterator[t.Any]:
        """fn(item) for each item on the source's scheduler (as many in flight as the rate cap and the
        latency call for), results in the items' order.

        Until a request of this stream was answered, the first item runs alone: a key without the stream's
        scope then costs one refused request, not one per request in flight (the rest are never sent).
        """
        if self.answered:
            return self.scheduler.imap(fn, items)
        return self._first_alone(fn, iter(items))

    def _first_alone(self, fn: Callable[[t.Any], t.Any], items: Iterator[t.Any]) -> Iterator[t.Any]:
        for first in items:
            yield fn(first)
            break
        yield from self.scheduler.imap(fn, items)


class FullTableStream(GongMoreStream, _FullTable):
    """One request, every record, each run; ACTIVATE_VERSION after the read lets targets drop rows that vanished."""

    replication_key = None

    @staticmethod
    def build(raw: Record) -> Record:
        """The record of one item of the response (each stream's pure builder)."""
        raise NotImplementedError

    def keep(self, record: Record) -> bool:
        return True

    def raw_records(self) -> Iterable[Record]:
        return self.fetch_all({})

    @override
    def read_records(self, context: Context | None) -> t.Iterator[Record]:
        for raw in self.raw_records():
            record = type(self).build(raw)
            if self.keep(record):
                yield record
        self.log_summary()


class WorkspacesStream(FullTableStream):
    name = "workspaces"
    path = "/v2/workspaces"
    primary_keys = ("id",)
    schema = schemas.WORKSPACE.to_dict()
    records_key = "workspaces"
    required_scope = "api:workspaces:read"
    build = staticmethod(workspace_record)

    def raw_records(self) -> Iterable[Record]:
        return self.shared.workspaces()


class ScorecardsStream(FullTableStream):
    name = "scorecards"
    path = "/v2/settings/scorecards"
    primary_keys = ("scorecard_id",)
    schema = schemas.SCORECARD.to_dict()
    records_key = "scorecards"
    required_scope = "api:settings:scorecards:read"
    build = staticmethod(scorecard_record)

    def keep(self, record: Record) -> bool:
        # Gong has no workspace filter here: scorecards are kept by their own workspace.
        workspace = self.config.get("workspace_id")
        return not workspace or record["workspace_id"] == str(workspace)


class TrackersStream(FullTableStream):
    name = "trackers"
    path = "/v2/settings/trackers"
    primary_keys = ("tracker_id",)
    schema = schemas.TRACKER.to_dict()
    records_key = "keywordTrackers"
    required_scope = "api:settings:trackers:read"
    build = staticmethod(tracker_record)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> Record:
        workspace = self.config.get("workspace_id")
        return {"workspaceId": workspace} if workspace else {}


class CallOutcomesStream(FullTableStream):
    name = "call_outcomes"
    path = "/v2/call-outcomes"
    primary_keys = ("call_outcome",)
    schema = schemas.CALL_OUTCOME.to_dict()
    records_key = "outcomes"
    required_scope = "api:call-outcomes:read"
    build = staticmethod(call_outcome_record)


class LibraryFoldersStream(FullTableStream):
    name = "library_folders"
    path = "/v2/library/folders"
    primary_keys = ("id",)
    schema = schemas.LIBRARY_FOLDER.to_dict()
    records_key = "folders"
    required_scope = "api:library:read"

    @staticmethod
    def build(raw: Record) -> Record:
        return raw  # already built by Shared.folders, which knows the workspace it listed a folder under

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> Record:
        workspace = (context or {}).get("workspace_id")
        return {"workspaceId": workspace} if workspace else {}

    def list_folders(self, workspace_id: str | None) -> list[Record]:
        return self.fetch_all({"workspace_id": workspace_id})

    def raw_records(self) -> Iterable[Record]:
        return self.shared.folders()


class LibraryFolderCallsStream(FullTableStream):
    """One request per folder, so read in full at most once per `lookback_interval_hours` (time kept in STATE)."""

    prefetchable = False  # one request per folder, read in full once per lookback_interval_hours
    name = "library_folder_calls"
    path = "/v2/library/folder-content"
    primary_keys = ("folder_id", "call_id", "created")
    schema = schemas.LIBRARY_FOLDER_CALL.to_dict()
    records_key = "calls"
    required_scope = "api:library:read"
    full_read = FOLDER_CALLS_LAST_FULL_READ
    _due: bool | None = None

    @property
    def due(self) -> bool:
        """Decided once per run, before the read: a run that reads nothing carries no version, activates none."""
        if self._due is None:
            self._due = self.full_read.due(self.stream_state, self.run_started_at, self.interval_hours)
        return self._due

    @override
    def reads_in_full(self) -> bool:
        return self.due

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> Record:
        assert context is not None
        return {"folderId": context["folder_id"]}

    def folder_content(self, folder_id: str) -> list[Record]:
        return [
            library_folder_call_record(raw, folder_id) for raw in self.fetch_all({"folder_id": folder_id})
        ]

    @override
    def read_records(self, context: Context | None) -> t.Iterator[Record]:
        if not self.due:
            self.logger.info(
                "library_folder_calls: last read in full at %s, less than lookback_interval_hours=%g ago; "
                "nothing read this run",
                self.full_read.last(self.stream_state),
                self.interval_hours,
            )
            return
        folder_ids = [folder["id"] for folder in self.shared.folders() if folder["id"] is not None]
        for records in self.scheduler_imap(self.folder_content, folder_ids):
            yield from records
        self.full_read.stamp(self, self.run_started_at)
        self.log_summary()


# A day stream's window: company days [start, end), the end exclusive (as Gong's `toDate`).
Window = DayRange


class DayStream(BookmarkedByRun, GongMoreStream):
    """Reads [day of start_date, day of end_date rounded up) in whole-day windows, several in flight.

    Later runs start at the bookmark's day minus `lookback_days` (rounded up) minus `slack_days` when the
    full look-back is due (once per `lookback_interval_hours`, its time kept in STATE), else at the bookmark's
    day minus one. The bookmark is the last day whose records (and all earlier days') were emitted, never
    later than the company's yesterday. Windows finish in any order: each is emitted as soon as it is read,
    and the days finished past the bookmark are kept in STATE (`finished_windows`, bookmarks.FinishedDays),
    so a stop keeps them and a later run reads only the days none of them covers.
    """

    full_lookback_stamp = DAY_FULL_LOOKBACK_AT  # `full_lookback_at`, as `calls` names it

    window_days: t.ClassVar[int] = 1
    slack_days: t.ClassVar[int] = 0
    # Stats: Gong rejects a `toDate` after the company's current day.
    capped_at_today: t.ClassVar[bool] = True

    def bookmark_day(self) -> date | None:
        """The last day whose records (and every earlier day's) were emitted (bookmarks.bookmark_day)."""
        return bookmark_day(self)

    def day_range(self, now: datetime) -> Window:
        clock = self.shared.clock
        start = parse_datetime(self.config["start_date"]) if self.config.get("start_date") else None
        end = parse_datetime(self.config["end_date"]) if self.config.get("end_date") else now
        first = clock.day_of(start or now - timedelta(days=365))
        bookmark = self.bookmark_day()
        if bookmark is not None:
            if self.full_lookback_due(now):
                lookback = math.ceil(float(self.config.get("lookback_days") or 0))
                first = max(first, bookmark - timedelta(days=lookback + self.slack_days))
            else:
                first = max(first, bookmark - ONE_DAY)
        return Window(first, clock.day_after(end))

    def full_lookback_due(self, now: datetime) -> bool:
        return self.full_lookback_stamp.due(self.stream_state, now, self.interval_hours)

    def finished_days(self, full: Window) -> FinishedDays:
        """The days of `full` past the bookmark that earlier runs finished (kept in STATE by `commit_days`)."""
        bookmark = self.bookmark_day()
        since = full.start if bookmark is None else max(full.start, bookmark + ONE_DAY)
        kept = FinishedDays.from_state(finished_windows_state(self.stream_state, [self.name]))
        return kept.within(Window(since, full.end))

    def windows(self, start: date, end: date) -> list[Window]:
        """[start, end) in consecutive windows of `window_days` (the last one shorter)."""
        return [Window(a, b) for a, b in consecutive(start, end, timedelta(days=self.window_days))]

    def readable_end(self, end: date, now: datetime) -> date:
        return min(end, self.shared.clock.today(now)) if self.capped_at_today else end

    def fetch_window(self, window: Window) -> list[Record]:
        """Every record of one window (all pages; from page 1 again if the cursor expires)."""
        raise NotImplementedError

    @override
    def read_records(self, context: Context | None) -> t.Iterator[Record]:
        now = self.run_started_at
        full_lookback = self.bookmark_day() is None or self.full_lookback_due(now)  # a backfill counts as one
        full = self.day_range(now)
        if (
            self.ABORT_AT_RECORD_COUNT is not None
        ):  # a dry run (`--test`): the newest window first, no bookmark
            yield from self._dry_run(full, now)
            return
        write = not self.get_batch_config(self.config)  # BATCH: the SDK's own STATE follows the batch
        finished = self.finished_days(full)
        skipped = sum((r.end - r.start).days for r in finished.ranges)
        self.logger.info(
            "%s: reading days %s to %s (exclusive)%s",
            self.name,
            full.start,
            full.end,
            f"; {skipped} days finished by earlier runs are not read again" if skipped else "",
        )
        start = full.start
        while (end := self.readable_end(full.end, now)) > start:
            pending = [w for gap in finished.gaps(Window(start, end)) for w in self.windows(*gap)]
            for window, records in self.fetched(pending):
                yield from records
                finished.add(window)
                self.commit_days(finished, full.start, now, write=write)
            # A stats answer may have named the company's zone meanwhile: its today may be a day later.
            start = end
            if not pending:
                break
        if full_lookback:
            self.full_lookback_stamp.stamp(self, now)
        self.state_manager.is_flushed = False
        self.log_summary()

    def fetched(self, windows: list[Window]) -> t.Iterator[tuple[Window, list[Record]]]:
        """Each window with its records, as soon as it is read (any order), on the source's scheduler.

        Windows are submitted earliest first, at most twice as many as the scheduler keeps in flight waiting
        or running (bounded memory when the target is slow to take records). Until a request of this stream
        was answered, the first window is read alone: a key without the stream's scope then costs one refused
        request, not one per request in flight. When a window fails (a spent `max_requests_per_run`, a
        Retry-After beyond `max_retry_wait_seconds`, any error), no other window starts, those already under
        way are still taken (their records are emitted and their days kept), and then the first failure is
        raised.
        """
        rest = iter(windows)
        if not self.answered:
            for first in rest:
                yield first, self.fetch_window(first)
                break
        failure: Exception | None = None
        with self.scheduler.group() as group:
            while True:
                while failure is None and group.outstanding < 2 * self.scheduler.in_flight_target():
                    window = next(rest, None)
                    if window is None:
                        break
                    group.submit(window, self.fetch_window, window)
                try:
                    done = group.next_result(default=None)
                except Exception as error:  # the group dropped what had not started
                    failure = failure or error
                    continue
                if done is None:  # nothing submitted is left: every window was taken, or a failure
                    break
                yield done
        if failure is not None:
            raise failure

    def _dry_run(self, full: Window, now: datetime) -> t.Iterator[Record]:
        for window in reversed(self.windows(full.start, self.readable_end(full.end, now))):
            yield from self.fetch_window(window)

    def commit_days(self, finished: FinishedDays, first: date, now: datetime, *, write: bool = True) -> None:
        """Every record of the `finished` days was emitted: move the bookmark over those finished from
        `first` (this run's first day), never back nor past the company's yesterday, keep the finished days
        past it, and write a STATE when that changed something (`write`)."""
        day, kept = finished.settle(first, self.bookmark_day(), self.shared.clock.today(now))
        moved = day is not None and advance_bookmark_day(self, day)
        changed = keep(self, finished_windows_extra(kept.to_state(), [self.name]))
        if write and (moved or changed):
            self._write_state_message()  # private SDK API (listed in tests/unit/test_sdk_private_names.py)


class AnsweredScorecardsStream(DayStream):
    name = "answered_scorecards"
    path = "/v2/stats/activity/scorecards"
    http_method = "POST"
    primary_keys = ("answered_scorecard_id",)
    replication_key = "review_time"
    schema = schemas.ANSWERED_SCORECARD.to_dict()
    records_key = "answeredScorecards"
    required_scope = "api:stats:scorecards"
    window_days = ANSWERED_WINDOW_DAYS
    slack_days = 1  # review days are the company's; before its zone is known, windows are UTC days
    capped_at_today = False  # Gong accepts a future reviewToDate; today's reviews are read (and re-read)

    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> Record:
        assert context is not None
        body: dict[str, t.Any] = {
            "filter": {
                "reviewFromDate": context["from"],
                "reviewToDate": context["to"],
                # Gong's default (MANUAL) leaves the automatic (AI) reviews out.
                "reviewMethod": "BOTH",
            }
        }
        if next_page_token:
            body["cursor"] = next_page_token
        return body

    def fetch_window(self, window: Window) -> list[Record]:
        context = {"from": window.start.isoformat(), "to": window.end.isoformat()}
        raws = restart_on_expiry(
            lambda: self.request_records(context),
            key=lambda raw: as_id(raw.get("answeredScorecardId")),
            what=self.path,
            logger=self.logger,
        )
        return [answered_scorecard_record(raw) for raw in raws]


class StatsStream(DayStream):
    """POST /v2/stats/...: `fromDate`/`toDate` in the body, the company's zone and window in the answer."""

    http_method = "POST"
    replication_key = "date"

    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> Record:
        assert context is not None
        body: dict[str, t.Any] = {"filter": {"fromDate": context["from"], "toDate": context["to"]}}
        if next_page_token:
            body["cursor"] = next_page_token
        return body

    def parse_response(self, response: requests.Response) -> Iterable[Record]:
        if self.is_empty_result(response):
            return []
        body = response_json(response)
        self.shared.clock.note(body.get("timeZone"))
        return [{**item, _FROM: body.get("fromDateTime")} for item in body.get(self.records_key) or ()]

    def raw_items(self, window: Window) -> Iterator[Record]:
        context = {"from": window.start.isoformat(), "to": window.end.isoformat()}
        return restart_on_expiry(
            lambda: self.request_records(context),
            key=lambda raw: as_id(raw.get("userId")),
            what=self.path,
            logger=self.logger,
        )


class UserDailyActivityStream(StatsStream):
    name = "user_daily_activity"
    path = "/v2/stats/activity/day-by-day"
    primary_keys = ("user_id", "date")
    schema = schemas.USER_DAILY_ACTIVITY.to_dict()
    records_key = "usersDetailedActivities"
    required_scope = "api:stats:user-actions:detailed"
    window_days = DAY_BY_DAY_WINDOW_DAYS

    def fetch_window(self, window: Window) -> list[Record]:
        records = []
        for raw in self.raw_items(window):
            raw.pop(_FROM, None)
            records += daily_activity_records(raw, window.start)
        return records


class InteractionStatsStream(StatsStream):
    name = "interaction_stats"
    path = "/v2/stats/interaction"
    primary_keys = ("user_id", "date")
    schema = schemas.INTERACTION.to_dict()
    records_key = "peopleInteractionStats"
    required_scope = "api:stats:interaction"
    window_days = 1  # Gong aggregates over the requested range: one day per request

    def fetch_window(self, window: Window) -> list[Record]:
        records = []
        for raw in self.raw_items(window):
            records.append(interaction_record(raw, day_of(raw.pop(_FROM, None), window.start)))
        return records


def gong_more_streams(tap: Tap, scheduler: Scheduler) -> list[GongMoreStream]:
    """The streams of this module, on Gong's scheduler, sharing one `Shared`."""
    shared = Shared()
    streams: list[GongMoreStream] = [
        cls(tap, scheduler=scheduler, shared=shared)
        for cls in (
            WorkspacesStream,
            ScorecardsStream,
            AnsweredScorecardsStream,
            TrackersStream,
            CallOutcomesStream,
            LibraryFoldersStream,
            LibraryFolderCallsStream,
            UserDailyActivityStream,
            InteractionStatsStream,
        )
    ]
    shared.workspaces_stream = t.cast("WorkspacesStream", streams[0])
    shared.folders_stream = t.cast("LibraryFoldersStream", streams[5])
    return streams
