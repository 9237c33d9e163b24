"""tap-calls: sales calls from Gong and Clari Copilot, as Singer streams."""

from __future__ import annotations

import ipaddress
import logging
import sys
import typing as t
from urllib.parse import urlparse

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException

from tap_calls.clari import ClariCallsStream, ClariDirectory
from tap_calls.clari_more import (
    ClariScorecardsStream,
    ClariScorecardTemplatesStream,
    ClariTopicsStream,
    ClariUsersStream,
)
from tap_calls.dates import parse_datetime
from tap_calls.errors import TapCallsError
from tap_calls.gong import CallBatches, CallsStream, PartiesStream, TranscriptsStream, UsersStream
from tap_calls.gong_more import gong_more_streams
from tap_calls.redact import redact_secrets
from tap_calls.scheduler import RateLimiter, Scheduler

SECRET_SETTINGS = ("access_key_secret", "access_token", "clari_api_key", "clari_api_password")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "access_key",
        th.StringType,
        title="Gong access key",
        description="Gong access key (the Basic auth user). A Gong technical administrator creates it under "
        "Admin center > Settings > Ecosystem > API > Get API Key.",
    ),
    th.Property(
        "access_key_secret",
        th.StringType,
        secret=True,
        title="Gong access key secret",
        description="Gong access key secret (the Basic auth password), shown once next to the access key "
        "when it is created.",
    ),
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        title="Gong OAuth access token",
        description="Gong OAuth bearer token from your Gong app's token exchange; used instead of the key pair "
        "when set. Set api_url to the api_base_url_for_customer that came with it.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default="https://api.gong.io",
        title="Gong API base URL",
        description="Gong API base; paths /v2/... are appended. Your company's host is shown on the Gong API "
        "page (Admin center > Settings > Ecosystem > API); OAuth users put api_base_url_for_customer here.",
    ),
    th.Property(
        "workspace_id",
        th.StringType,
        title="Gong workspace id",
        description="Only calls of this Gong workspace (ids from GET /v2/workspaces, or the workspace "
        "selector's URL in Gong).",
    ),
    th.Property(
        "clari_api_key",
        th.StringType,
        secret=True,
        title="Clari Copilot API key",
        description="Clari Copilot X-Api-Key, from Copilot workspace settings > Integrations > Clari Copilot API.",
    ),
    th.Property(
        "clari_api_password",
        th.StringType,
        secret=True,
        title="Clari Copilot API password",
        description="Clari Copilot X-Api-Password, shown next to the API key in Copilot workspace settings > "
        "Integrations > Clari Copilot API.",
    ),
    th.Property(
        "clari_api_url",
        th.StringType,
        default="https://rest-api.copilot.clari.com",
        title="Clari Copilot API base URL",
        description="Clari Copilot API base; paths /calls and /call-details are appended. The default is "
        "Clari's documented host.",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="Earliest call to extract on a first run (RFC 3339). Default: 365 days before the run "
        "starts, in UTC.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Exclusive upper bound, for bounded backfills (RFC 3339). Default: the moment the run starts.",
    ),
    th.Property(
        "lookback_days",
        th.NumberType,
        default=7,
        title="Look-back days",
        description="Each incremental run re-reads this many days before the bookmark, to catch calls, "
        "transcripts and edits that Gong or Clari publish late.",
    ),
    th.Property(
        "include_private_calls",
        th.BooleanType,
        default=False,
        title="Include private calls",
        description="Gong private calls (and their parties and transcripts) are skipped unless true.",
    ),
    th.Property(
        "include_media_urls",
        th.BooleanType,
        default=False,
        title="Include media URLs",
        description="Adds Gong media_urls (signed, expire after 8 h; needs the scope api:calls:read:media-url).",
    ),
    th.Property(
        "requests_per_second",
        th.NumberType,
        default=3,
        title="Gong requests per second",
        description="Client-side cap on Gong requests (Gong allows 3/s and 10,000/day per company; ask Gong "
        "support if yours differs).",
    ),
    th.Property(
        "clari_requests_per_second",
        th.NumberType,
        default=10,
        title="Clari requests per second",
        description="Client-side cap on Clari Copilot requests (Clari allows 10/s and 100,000/week).",
    ),
    th.Property(
        "lookback_interval_hours",
        th.NumberType,
        default=24,
        title="Look-back interval (hours)",
        description="The full lookback_days re-read runs when the last one is at least this old; runs in "
        "between re-read only 3 hours before the bookmark. 0: every run re-reads the full look-back.",
    ),
    th.Property(
        "max_requests_per_run",
        th.IntegerType,
        title="Most requests per run, per source",
        description="The most requests one run may send to each source (Gong's daily quota is shared by every "
        "integration of the company); reaching it ends that source's streams with one line and a resumable "
        "STATE, exit 0.",
    ),
    th.Property(
        "max_retry_wait_seconds",
        th.NumberType,
        default=600,
        title="Longest Retry-After to wait",
        description="Longest Retry-After the tap sleeps through; a longer one (a spent daily quota) ends the run "
        "with a clear message and a resumable state.",
    ),
).to_dict()

NUMBER_SETTINGS = (
    "lookback_days",
    "lookback_interval_hours",
    "requests_per_second",
    "clari_requests_per_second",
    "max_retry_wait_seconds",
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quiet_about_user_errors(record: logging.LogRecord) -> bool:
    """The SDK logs a generic "unhandled error" before re-raising; for an error the user can fix, the
    one line `invoke` prints says everything, and a dry run (`--test`) stopping at its record limit is
    no error at all."""
    if record.levelno < logging.ERROR:
        return True
    if str(record.msg).startswith("Giving up "):
        return False  # backoff's give-up line: the request layer turns it into the one error line
    in_flight = sys.exc_info()[1]
    expected = (TapCallsError, AbortedSyncFailedException, AbortedSyncPausedException)
    return not isinstance(in_flight, expected)


class TapCalls(Tap):
    """Sales calls from Gong (calls, parties, transcripts, users) and Clari Copilot (clari_calls)."""

    name = "tap-calls"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = MsgSpecWriter

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        redact_secrets(str(self._config.get(name) or "") for name in SECRET_SETTINGS)
        # `--config ENV` leaves number settings as strings (the SDK converts only integers).
        for name in NUMBER_SETTINGS:
            value = self._config.get(name)
            if isinstance(value, str):
                try:
                    self._config[name] = float(value)
                except ValueError:
                    raise TapCallsError(f"{name} {value!r} is not a number") from None
        errors = super()._validate_config(raise_errors=raise_errors)
        if raise_errors:
            self.check_settings()
        return errors

    @property
    def gong_configured(self) -> bool:
        return bool(self.config.get("access_token") or self.config.get("access_key"))

    @property
    def clari_configured(self) -> bool:
        return bool(self.config.get("clari_api_key") or self.config.get("clari_api_password"))

    def check_settings(self) -> None:
        """Settings a sync cannot start with, each reported as one line before any request."""
        config = self.config
        if not self.gong_configured and not self.clari_configured:
            msg = (
                "No source configured: set access_key and access_key_secret (or access_token) for Gong, "
                "and/or clari_api_key and clari_api_password for Clari Copilot"
            )
            raise TapCallsError(msg)
        if (
            config.get("access_key")
            and not config.get("access_key_secret")
            and not config.get("access_token")
        ):
            raise TapCallsError("access_key is set but access_key_secret is not: set both (or access_token)")
        if (
            config.get("access_key_secret")
            and not config.get("access_key")
            and not config.get("access_token")
        ):
            raise TapCallsError("access_key_secret is set but access_key is not: set both (or access_token)")
        if bool(config.get("clari_api_key")) != bool(config.get("clari_api_password")):
            raise TapCallsError("Clari Copilot needs both clari_api_key and clari_api_password")
        for name in ("start_date", "end_date"):
            if config.get(name):
                try:
                    parse_datetime(str(config[name]))
                except ValueError:
                    msg = (
                        f"{name} {config[name]!r} is not a date-time; use RFC 3339, e.g. 2025-01-31T00:00:00Z"
                    )
                    raise TapCallsError(msg) from None
        start, end = config.get("start_date"), config.get("end_date")
        if start and end and parse_datetime(start) >= parse_datetime(end):
            raise TapCallsError("start_date must be before end_date")
        for name in ("api_url", "clari_api_url"):
            self._check_url(name, str(config.get(name) or ""))
        for name in ("requests_per_second", "clari_requests_per_second"):
            if float(config[name]) <= 0:
                raise TapCallsError(f"{name} must be greater than 0")
        if float(config["lookback_days"]) < 0:
            raise TapCallsError("lookback_days must not be negative")

    @staticmethod
    def _check_url(name: str, value: str) -> None:
        parsed = urlparse(value)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            example = CONFIG_SCHEMA["properties"][name].get("default", "https://...")
            raise TapCallsError(f"{name} {value!r} is not a URL; expected e.g. {example}")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            msg = f"{name} {value!r} uses plain http; use https (http is only allowed for a loopback test server)"
            raise TapCallsError(msg)

    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = []
        everything = not self.gong_configured and not self.clari_configured
        if self.gong_configured or everything:
            gong = self.scheduler("Gong", "requests_per_second", 3, quota=10_000, period="day")
            batches = CallBatches()
            streams += [
                CallsStream(self, scheduler=gong, batches=batches),
                PartiesStream(self, scheduler=gong, batches=batches),
                TranscriptsStream(self, scheduler=gong, batches=batches),
                UsersStream(self, scheduler=gong),
            ]
            streams += gong_more_streams(self, gong)
        if self.clari_configured or everything:
            clari = self.scheduler(
                "Clari Copilot", "clari_requests_per_second", 10, quota=100_000, period="week"
            )
            directory = ClariDirectory()  # GET /users once per run, for clari_users and clari_calls' speakers
            streams += [
                ClariCallsStream(self, scheduler=clari, directory=directory),
                ClariUsersStream(self, scheduler=clari, directory=directory),
                ClariTopicsStream(self, scheduler=clari),
                ClariScorecardsStream(self, scheduler=clari),
                ClariScorecardTemplatesStream(self, scheduler=clari),
            ]
        for stream in streams:
            stream.logger.addFilter(_quiet_about_user_errors)
        return streams

    def scheduler(
        self, source: str, rate_setting: str, default_rate: float, *, quota: int, period: str
    ) -> Scheduler:
        """The one request scheduler of a source, shared by all its streams."""
        budget = self.config.get("max_requests_per_run")
        limiter = RateLimiter(
            float(self.config.get(rate_setting) or default_rate),
            quota=quota,
            quota_period=period,
            max_requests=int(budget) if budget else None,
        )
        return Scheduler(source, limiter)

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """The SDK's CLI, with user-fixable errors printed as one line and a non-zero exit."""
        try:
            super().invoke(*args, **kwargs)
        except TapCallsError as exc:
            logging.getLogger(cls.name).error("%s", exc)
            sys.exit(1)
