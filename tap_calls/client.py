"""`SourceStream`, the base of every stream: one source's URL, credentials, request layer and error lines.

The request layer (`request_decorator`) is the one way a request leaves the tap: through the source's
`Scheduler` rate limiter, timed for the scheduler's in-flight sizing and for the SDK's
`http_request_duration` metric, counted in the SDK's `http_request_count` metric per endpoint, retried with
backoff (a 429 waits exactly its `Retry-After`), and turned into one line when it cannot succeed.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import re
import threading
import time
import typing as t
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import urlparse

import msgspec
import requests
from singer_sdk import RESTStream, metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_calls import table_versions
from tap_calls.dates import utc_now
from tap_calls.errors import (
    AuthError,
    RequestBudgetSpent,
    RetryWaitTooLong,
    ScopeMissing,
    StopSource,
    TapCallsError,
)
from tap_calls.keys import Conform, ids_as_strings
from tap_calls.oauth import GongOAuthAuthenticator

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.scheduler import Scheduler

_json = msgspec.json.Decoder()
# A Gong scope named in a 401 (more_endpoints.md §0.2): "You don't have permission to use 'api:…' in your app."
_SCOPE_NAMED = re.compile(r"api:[A-Za-z0-9:_.-]+[A-Za-z0-9]")


def response_json(response: requests.Response) -> t.Any:
    """The decoded body, decoded once per response (validate_response already did).

    Raises:
        msgspec.DecodeError: the body is not JSON.
    """
    cached = getattr(response, "_tap_calls_json", None)
    if cached is None:
        cached = _json.decode(response.content) if response.content else {}
        response._tap_calls_json = cached  # type: ignore[attr-defined]
    return cached


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Retry-After in seconds, from either of its forms (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, (when - utc_now()).total_seconds())


class Refused(Exception):
    """HTTP 401/403: wrong credentials, or (Gong) a scope the credentials lack for this endpoint only."""

    def __init__(self, status: int, endpoint: str, text: str) -> None:
        super().__init__(f"HTTP {status} on {endpoint}: {text}")
        self.status, self.endpoint, self.text = status, endpoint, text


class SourceStream(RESTStream[t.Any]):
    """Base of every stream: one source's URL, credentials, rate cap, retries and error lines.

    Subclasses set `source` (the name users know), `url_setting` and `credential_settings`; the tap hands
    in the source's `Scheduler`. Records come from `read_records` (default: the SDK's paging loop); the
    base `get_records` turns a missing scope or a spent request budget into a skipped stream.
    """

    source: t.ClassVar[str]
    url_setting: t.ClassVar[str]
    credential_settings: t.ClassVar[str]
    records_key: t.ClassVar[str] = ""
    # Records are JSON-native already; conforming types record by record costs CPU and drops the fields
    # Gong or Clari add later, which the contract says pass through.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Custom credential headers (Clari) would follow a redirect to any host: no redirect is followed.
    allow_redirects = False
    extra_retry_statuses = [429]
    # (connect, read) seconds. A page of 100 long transcripts can take a while to produce.
    request_timeout: t.ClassVar[tuple[float, float]] = (15.0, 120.0)
    max_tries: t.ClassVar[int] = 8
    backoff_base_seconds: t.ClassVar[float] = 1.0
    backoff_cap_seconds: t.ClassVar[float] = 60.0

    def __init__(self, tap: Tap, *, scheduler: Scheduler, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.scheduler = scheduler
        scheduler.streams.append(self)
        self.records_emitted = 0
        self.records_without_key = 0
        self._counters: dict[str, metrics.Counter] = {}
        self._counters_lock = threading.Lock()
        self._schema_written = False
        self.skipped = False
        # Set once this stream is skipped for a scope: its requests not yet sent are dropped (never sent).
        self.withdrawn: ScopeMissing | None = None
        # Whether a request of this stream was answered (not refused) in this run.
        self.answered = False
        # Set once `read_records` ran to its end in this run (not skipped, stopped or failed): only then may a
        # full-table stream activate its table version (table_versions).
        self.read_complete = False
        self._session: requests.Session | None = None

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # The SDK writes its ACTIVATE_VERSION when a full-table sync starts, before any request (Stream.sync):
        # never. FullTableStream.get_records writes one after a complete read (table_versions).
        return False

    @property
    @override
    def url_base(self) -> str:
        # An OAuth token names the host it is valid for (Gong's api_base_url_for_customer, tap_calls/oauth.py).
        if isinstance(self.authenticator, GongOAuthAuthenticator):
            return self.authenticator.api_base_url
        return str(self.config[self.url_setting]).rstrip("/")

    @property
    @override
    def timeout(self) -> t.Any:
        return self.request_timeout

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The SDK's session, its connection pool as large as the requests the scheduler keeps in flight
        (urllib3 keeps 10 per host by default: beyond that it drops connections and warns)."""
        if self._session is None:
            self._session = requests.Session()
            size = self.scheduler.max_in_flight + self.scheduler.BACKGROUND_SLOTS
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=size)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        return self._session

    # Retries: a 429 waits exactly what Retry-After says; everything else backs off with jitter.

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        attempt = 0
        exc = yield  # type: ignore[misc]
        while True:
            response = getattr(exc, "response", None)
            wait = retry_after_seconds(response) if response is not None else None
            if wait is None:
                ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**attempt)
                wait = random.uniform(ceiling / 2, ceiling)
            if response is not None and response.status_code == 401:
                wait = 0.0  # the access token was renewed already (validate_response): no reason to wait
            if response is not None and response.status_code == 429:
                # A 429 is about the whole source: every thread waits. A 5xx backoff is this request's alone.
                self.scheduler.limiter.hold_until(time.monotonic() + wait)
            attempt += 1
            exc = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_max_tries(self) -> int:
        return self.max_tries

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        what = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        self.logger.warning(
            "%s %s: %s, retrying in %.1f s (attempt %d of %d)",
            self.source,
            urlparse(response.url).path if response is not None else self.path,
            what,
            details.get("wait", 0.0),
            details.get("tries", 0),
            self.max_tries,
        )

    @override
    def request_decorator(self, func: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """Rate cap, latency and request count around every try; retries; one line when they run out."""

        def limited(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            self.raise_if_withdrawn()
            self.scheduler.limiter.acquire(check=self.raise_if_withdrawn)
            self._count(prepared_request)
            started = time.monotonic()
            try:
                response: requests.Response = func(prepared_request, context)
            finally:
                self.scheduler.observe(time.monotonic() - started)
            self.scheduler.credentials_ok = True
            if isinstance(self.authenticator, GongOAuthAuthenticator):
                self.authenticator.confirm(prepared_request)
            self.answered = True
            return response

        retrying = super().request_decorator(limited)

        def call(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            endpoint = f"{prepared_request.method} {self.endpoint_of(prepared_request)}"
            try:
                response: requests.Response = retrying(prepared_request, context)
                return response
            except RetriableAPIError as exc:
                status = exc.response.status_code if exc.response is not None else "?"
                msg = (
                    f"{self.source} {endpoint} still failing with HTTP {status} after {self.max_tries} tries"
                )
                raise TapCallsError(msg) from None
            except (requests.RequestException, ConnectionResetError) as exc:
                msg = f"{self.source} {endpoint} still failing ({type(exc).__name__}) after {self.max_tries} tries"
                raise TapCallsError(msg) from None

        return call

    def raise_if_withdrawn(self) -> None:
        """Drop a request of a stream skipped for a scope: it would only be refused again.

        Raises:
            Refused: the refusal that skipped the stream (its `refusal` gives the same ScopeMissing again).
        """
        if self.withdrawn is not None:
            raise Refused(401, self.withdrawn.endpoint, self.withdrawn.detail)

    def _count(self, request: requests.PreparedRequest) -> None:
        """The SDK's `http_request_count` metric, one counter per endpoint for the whole run."""
        endpoint = self.endpoint_of(request)
        with self._counters_lock:
            counter = self._counters.get(endpoint)
            if counter is None:
                counter = self._counters[endpoint] = metrics.http_request_counter(
                    self.name, endpoint=endpoint
                )
                counter.__enter__()
            counter.increment()

    def endpoint_of(self, request: requests.PreparedRequest) -> str:
        """The endpoint's path below the source's base URL, e.g. `/v2/calls/extensive`."""
        path = urlparse(str(request.url)).path
        base = urlparse(self.url_base).path
        return path[len(base) :] if base and path.startswith(base) else path

    def close_counters(self) -> None:
        """Log the final `http_request_count` of every endpoint this stream used."""
        with self._counters_lock:
            counters, self._counters = self._counters, {}
        for counter in counters.values():
            counter.exit()

    # Requests built from public SDK hooks, sent by the request layer.

    @t.final
    def send(self, context: Context | None, token: t.Any = None) -> requests.Response:
        """One request for `context` and page `token` (get_http_request), through the request layer.

        Raises:
            TapCallsError, Refused, ScopeMissing, StopSource: as `validate_response` and the limiter say.
        """
        http_request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=token))
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
            **({"json": http_request.data} if self.payload_as_json else {"data": http_request.data}),
        )
        # The context stays out of the SDK's duration metric: it may hold a batch of calls.
        response: requests.Response = self.sender(prepared, None)
        self.update_sync_costs(prepared, response, context)
        return response

    def send_page(self, context: Context | None, token: t.Any = None) -> requests.Response:
        """One page of a listing (default: `send`); a source whose pages can be too large overrides it."""
        return self.send(context, token)

    @property
    def sender(self) -> Callable[[requests.PreparedRequest, Context | None], requests.Response]:
        """The decorated request function (built once per stream)."""
        sender = self.__dict__.get("_sender")
        if sender is None:
            # private SDK API: `_request` authenticates, sends, logs the SDK's http_request_duration metric and
            # calls validate_response; tests/unit/test_sdk_private_names.py fails if it disappears.
            sender = self.__dict__["_sender"] = self.request_decorator(self._request)
        return sender

    def fetch_all(self, context: Context | None) -> list[dict[str, t.Any]]:
        """Every record of one paged request (a whole cursor chain), on the calling thread."""
        return list(self.request_records(context))

    @override
    def request_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """The SDK's paging loop on `send`: pages until the paginator is finished."""
        paginator = self.get_new_paginator()
        token = None
        while True:
            response = self.send_page(context, token)
            records = list(self.parse_response(response))
            yield from records
            if paginator is None:
                return
            paginator.advance(response)
            if paginator.finished or (not records and not paginator.continue_if_empty(response)):
                return
            token = paginator.current_value

    # Responses

    def api_error_text(self, response: requests.Response) -> str:
        """The API's own words (Gong `errors[]`, Clari `errorMessage`), never headers or the URL query."""
        try:
            body = response_json(response)
        except msgspec.DecodeError:
            return response.reason or ""
        if isinstance(body, dict):
            if errors := body.get("errors"):
                return "; ".join(str(e) for e in errors)
            if message := body.get("errorMessage"):
                return str(message)
        return response.reason or ""

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        endpoint = f"{response.request.method} {urlparse(response.url).path}"
        if status == 429:
            wait = retry_after_seconds(response)
            limit = float(self.config["max_retry_wait_seconds"])
            if wait is not None and wait > limit:
                msg = (
                    f"{self.source} asks to wait {wait:.0f} s before the next request (quota spent?), "
                    f"longer than max_retry_wait_seconds={limit:.0f}; the next run resumes from the last STATE"
                )
                raise RetryWaitTooLong(msg)
            raise RetriableAPIError(f"{self.source} {endpoint}: HTTP 429", response)
        if status >= 500:
            raise RetriableAPIError(f"{self.source} {endpoint}: HTTP {status}", response)
        if status == 401 and self.renewed_credentials(response):
            raise RetriableAPIError(
                f"{self.source} {endpoint}: HTTP 401, retrying with a renewed access token", response
            )
        if status in {401, 403}:
            raise Refused(status, endpoint, self.api_error_text(response))
        if 300 <= status < 400:
            msg = (
                f"{self.source} {endpoint} redirected to {response.headers.get('Location', '?')}; "
                f"redirects are not followed, check {self.url_setting}"
            )
            raise TapCallsError(msg)
        if self.is_empty_result(response):
            return
        if status >= 400:
            # The API's own words usually name the culprit (a wrong workspace_id, say): one line, no traceback.
            raise TapCallsError(f"{self.source} {endpoint}: HTTP {status}: {self.api_error_text(response)}")
        try:
            if not response.content:
                raise msgspec.DecodeError("empty body")
            self.check_json(response)
        except msgspec.DecodeError:
            # A truncated or garbled body is a transport fault, as good as a 502.
            raise RetriableAPIError(f"{self.source} {endpoint}: malformed JSON body", response) from None

    def renewed_credentials(self, response: requests.Response) -> bool:
        """After a 401: whether an OAuth access token was renewed (at most once per request) to retry with.

        A 401 naming a missing scope (more_endpoints.md §0.2) is no expired token: no refresh for it.
        """
        auth = self.authenticator
        if not isinstance(auth, GongOAuthAuthenticator) or _SCOPE_NAMED.search(self.api_error_text(response)):
            return False
        return auth.renew_after_unauthorized(response.request)

    def check_json(self, response: requests.Response) -> None:
        """Check that a 2xx body is JSON (default: decode it, once, for `parse_response`).

        Raises:
            msgspec.DecodeError: it is not; `validate_response` retries the request.
        """
        response_json(response)

    def is_empty_result(self, response: requests.Response) -> bool:
        """Whether an error status really means "no records" (Gong's 404 on an empty window)."""
        return False

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        if self.is_empty_result(response):
            return []
        body = response_json(response)
        return (body.get(self.records_key) if isinstance(body, dict) else None) or []

    # Refusals: wrong credentials stop the run; a missing scope skips the streams that need it.

    def refusal(self, refused: Refused) -> ScopeMissing | AuthError:
        """What a 401/403 means for this source (Clari has one key pair and no scopes: credentials)."""
        settings = getattr(self.authenticator, "credential_settings", None) or self.credential_settings
        msg = f"{self.source} refused the credentials ({refused}); check {settings}"
        return AuthError(msg)

    # Records

    # A stream whose whole read is a request or two, read in the background (the scheduler's background slot,
    # beyond the in-flight target) as soon as its source starts, so a slow API answers it while other streams
    # run: the SDK syncs streams one after another.
    prefetchable: t.ClassVar[bool] = False

    def start_prefetch(self) -> None:
        """Read this stream's records now, in the scheduler, for `get_records` to take later."""
        if self.prefetchable and self.selected and self.__dict__.get("_prefetch") is None:
            group = self.scheduler.group(background=True)
            group.submit("records", lambda: list(self.read_records(None)))
            self.__dict__["_prefetch"] = group

    def _prefetch_all(self) -> None:
        if not self.scheduler.prefetch_started:
            self.scheduler.prefetch_started = True
            for stream in self.scheduler.streams:
                if stream is not self:
                    t.cast("SourceStream", stream).start_prefetch()

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """`read_records`, except that a missing scope or a stopped source skips this stream with a WARNING."""
        self._prefetch_all()
        prefetch = self.__dict__.pop("_prefetch", None)
        if prefetch is not None and prefetch.withdraw():
            prefetch = None  # not started in the background yet: read now, rather than wait for its turn
        if self.scheduler.stopped is not None and prefetch is None:
            self.logger.info("%s: not read in this run (%s was stopped early)", self.name, self.source)
            return
        try:
            with prefetch or contextlib.nullcontext():
                done = prefetch.next_result() if prefetch is not None else None
            yield from done[1] if done is not None else self.read_records(context)
            self.read_complete = True
            if self.replication_key is None:
                self.log_summary()
        except Refused as refused:
            try:
                verdict = self.refusal(refused)  # may ask a cheap endpoint (Gong), within the request budget
            except StopSource as stop:
                self.stop_source(stop)
                return
            if not isinstance(verdict, ScopeMissing):
                raise verdict from None
            self.skip_for_scope(verdict)
        except ScopeMissing as missing:
            self.skip_for_scope(missing)
        except StopSource as stop:
            self.stop_source(stop)
        finally:
            if self.parent_stream_type is None:  # children share their parent's run
                for stream in [self, *self.child_streams]:
                    t.cast("SourceStream", stream).close_counters()

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """This stream's records (default: the SDK's paging loop through `request_records`)."""
        return self.request_records(context)

    def skip_for_scope(self, missing: ScopeMissing) -> None:
        """One WARNING naming the stream and the scope to grant; the run goes on. The stream's requests not
        yet sent are withdrawn (`raise_if_withdrawn`); a second call changes nothing."""
        if self.withdrawn is not None:
            return
        self.withdrawn = missing
        self.skipped = True
        self.scheduler.skipped_for_scope[self.name] = missing.scope
        self.logger.warning(
            "%s skipped: the %s credentials lack the scope %s (%s); grant it, or deselect %s",
            self.name,
            self.source,
            missing.scope,
            missing.endpoint,
            self.name,
        )

    def stop_source(self, stop: StopSource) -> None:
        """One WARNING for the source; its other streams are not read; the run goes on (exit 0)."""
        if isinstance(stop, RequestBudgetSpent):
            reason = f"max_requests_per_run={stop.args[0]} requests were sent"
        else:
            reason = str(stop)
        if self.scheduler.stopped is None:
            self.scheduler.stopped = f"{self.source} stopped early: {reason}"
            self.logger.warning(
                "%s stopped early: %s; the next run resumes from the last STATE", self.source, reason
            )

    @cached_property
    def conform_ids(self) -> Conform | None:
        """Numbers where this stream's schema says string (ids Gong sends as int64) made strings, in place."""
        return ids_as_strings(self.schema)

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        """Ids (every field the schema types as a string) as strings at every depth; skip a record without
        its primary key (one WARNING each); count the others."""
        if self.conform_ids is not None:
            self.conform_ids(row)
        missing = [key for key in self.primary_keys or () if row.get(key) is None or row.get(key) == ""]
        if missing:
            self.records_without_key += 1
            self.logger.warning(
                "%s: skipped a record from %s without %s", self.name, self.source, ", ".join(missing)
            )
            return None
        self.records_emitted += 1
        return row

    @override
    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> Iterable[Context | None]:
        # A stream without children has no child context to make for each of its records.
        return super().generate_child_contexts(record, context) if self.child_streams else ()

    @override
    def _generate_record_messages(self, record: dict[str, t.Any]) -> t.Generator[RecordMessage, None, None]:
        # private SDK API (Stream._generate_record_messages), guarded by tests/unit/test_sdk_private_names.py.
        # The SDK walks every record to drop deselected properties, a fifth of the CPU of a small record
        # (transcript_sentences); when the catalog deselects nothing, there is nothing to drop. Types are not
        # conformed (TYPE_CONFORMANCE_LEVEL NONE), so what is left is the SDK's own loop over stream maps.
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE or not self.selects_every_property():
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,  # private SDK API (set for ACTIVATE_VERSION streams)
                    time_extracted=datetime.now(UTC),  # as the SDK's own utc_now(): no pendulum per record
                )

    def selects_every_property(self) -> bool:
        """Whether the catalog leaves every property of this stream selected (the SDK's selection mask)."""
        mask = self.mask
        cached = self.__dict__.get("_selects_every_property")
        if cached is None or cached[0] is not mask:
            cached = (mask, all(selected for breadcrumb, selected in mask.items() if breadcrumb))
            self.__dict__["_selects_every_property"] = cached
        return bool(cached[1])

    @override
    def _write_schema_message(self) -> None:
        # private SDK API: the SDK writes SCHEMA at every `sync`; child streams are synced once per batch of
        # calls, and once per stream is enough. Guarded by tests/unit/test_sdk_private_names.py.
        if not self._schema_written:
            self._schema_written = True
            super()._write_schema_message()

    def log_summary(self) -> None:
        """One INFO line: records emitted and the source's requests so far."""
        self.logger.info(
            "%s: done, %d records; %s: %s",
            self.name,
            self.records_emitted,
            self.source,
            self.scheduler.limiter.usage(),
        )


class FullTableStream(SourceStream):
    """A stream re-read in full every run: ignores start/end dates, carries its table version in every RECORD
    and writes ACTIVATE_VERSION once its full read completed (table_versions), and is read in the background as
    soon as its source starts (`prefetchable`).

    A stream skipped for scope, stopped early (`max_requests_per_run`, a long Retry-After, an error), not read
    in this run or not read in full (`reads_in_full`) writes no ACTIVATE_VERSION: the target keeps its rows.
    """

    replication_key = None
    prefetchable = True

    def reads_in_full(self) -> bool:
        """Whether this run reads the whole table (decided before the read; False: no version, no activation)."""
        return True

    def table_version(self) -> int:
        """The version this run's records carry (default: a new one per run; `call_ids` keeps one in STATE)."""
        version = self.__dict__.get("_table_version")
        if version is None:
            version = self.__dict__["_table_version"] = table_versions.new_version()
        return int(version)

    def may_activate(self) -> bool:
        """Checked after a complete read, before ACTIVATE_VERSION (default: yes; `call_ids` has a guard)."""
        return True

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        versioned = table_versions.wanted(self) and self.reads_in_full()
        version = self.table_version() if versioned else None
        if version is not None:
            table_versions.stamp(self, version)
        self.read_complete = False
        yield from super().get_records(context)
        # Every record the read yielded was written by now (the SDK writes each before asking for the next).
        if version is not None and self.read_complete and self.may_activate():
            table_versions.activate(self, version)


def quiet_child_syncs(record: logging.LogRecord) -> bool:
    """The SDK announces every child sync; with one per batch of calls, that is noise at INFO."""
    return not str(record.msg).startswith(("Beginning sync of", "Starting incremental sync of"))
