"""tap-calls: sales calls from Gong and Clari Copilot, as Singer streams."""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import sys
import typing as t
from pathlib import Path
from urllib.parse import urlparse

import click
from dotenv import load_dotenv
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.configuration._dict_config import parse_environment_config  # private SDK API
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    ConfigValidationError,
    MappingError,
)
from singer_sdk.mapper import PluginMapper
from singer_sdk.plugin_base import SingerCommand
from singer_sdk.singerlib import Catalog, CatalogEntry, RecordMessage, StateMessage
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_calls import inputs
from tap_calls.call_ids import CallIdsStream, ClariCallIdsStream, call_ids_streams
from tap_calls.clari import ClariCallsStream, ClariDirectory, ClariTranscriptLinesStream
from tap_calls.clari_more import (
    ClariScorecardsStream,
    ClariScorecardTemplatesStream,
    ClariTopicsStream,
    ClariUsersStream,
)
from tap_calls.client import SourceStream
from tap_calls.dates import parse_datetime
from tap_calls.errors import AuthError, TapCallsError
from tap_calls.gong import (
    CallsStream,
    PartiesStream,
    TranscriptSentencesStream,
    TranscriptsStream,
    UsersStream,
)
from tap_calls.gong_more import gong_more_streams
from tap_calls.oauth import DEFAULT_TOKEN_URL, KIND_NAMES, credential_kind, oauth_problem
from tap_calls.redact import redact_secrets
from tap_calls.scheduler import RateLimiter, Scheduler
from tap_calls.transcript_batches import CallBatches

SECRET_SETTINGS = (
    "access_key_secret",
    "access_token",
    "clari_api_key",
    "clari_api_password",
    "oauth_client_secret",
    "oauth_refresh_token",
)

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
        "oauth_client_id",
        th.StringType,
        title="Gong OAuth client id",
        description="Client id of your Gong app (Gong: Admin center > Settings > Ecosystem > API > "
        "Integrations > Create integration). With oauth_client_secret, oauth_refresh_token and "
        "oauth_token_store, the tap refreshes its own access tokens; these win over access_token and the key "
        "pair. See docs/oauth.md.",
    ),
    th.Property(
        "oauth_client_secret",
        th.StringType,
        secret=True,
        title="Gong OAuth client secret",
        description="Client secret of your Gong app (HTTP Basic client authentication at the token endpoint).",
    ),
    th.Property(
        "oauth_refresh_token",
        th.StringType,
        secret=True,
        title="Gong OAuth refresh token",
        description="The refresh token from authorizing the Gong app once. Gong's refresh tokens are single-use: "
        "the tap keeps each rotated one in oauth_token_store, which wins over this setting while it holds one; "
        "this one is used when the store is absent or empty, or when Gong refuses the store's token.",
    ),
    th.Property(
        "oauth_token_store",
        th.StringType,
        title="Gong OAuth token store",
        description="Path of a JSON file the tap reads and rewrites (mode 0600, atomically, under a lock) with "
        "the rotated refresh token, the access token, its expiry and the API base URL. It must persist between "
        "runs: under Meltano a path outside .meltano/ (e.g. ~/.local/state/tap-calls/gong-oauth.json), in a "
        "container a mounted volume.",
    ),
    th.Property(
        "oauth_token_url",
        th.StringType,
        default=DEFAULT_TOKEN_URL,
        title="Gong OAuth token URL",
        description="Gong's token endpoint; refreshes are POSTed here with grant_type=refresh_token and the "
        "refresh token on the query string, and HTTP Basic client authentication.",
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
        "call_ids_interval_hours",
        th.NumberType,
        default=168,
        title="Interval of the call id lists (hours)",
        description="call_ids and clari_call_ids (the calls that exist now, so targets can mark deleted calls) are "
        "read in full at most once per this many hours. 0: every run.",
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=True,
        title="Emit ACTIVATE_VERSION messages",
        description="Full-table streams carry their table version and end a complete read with ACTIVATE_VERSION, "
        "so targets that support it mark or drop rows that vanished. false: no versions (for targets that do "
        "not support the message, such as target-jsonl).",
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
    "call_ids_interval_hours",
    "requests_per_second",
    "clari_requests_per_second",
    "max_retry_wait_seconds",
)

# Synced after every other stream (TapCalls.load_streams).
LISTS_OF_EXISTING_CALLS = frozenset({CallIdsStream.name, ClariCallIdsStream.name})


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
    expected = (TapCallsError, MappingError, AbortedSyncFailedException, AbortedSyncPausedException)
    return not isinstance(in_flight, expected)


class StateTrackingWriter(MsgSpecWriter):
    """The SDK's msgspec writer, remembering the last STATE written and whether anything came after it."""

    def __init__(self) -> None:
        super().__init__()
        self.last_state: dict[str, t.Any] | None = None
        self.state_is_last = False

    def write_message(self, message: t.Any) -> None:
        # The SDK's writer flushes stdout after every message: a tenth of the CPU a transcript_sentences record
        # costs. A RECORD stays in stdout's buffer until the next message of another kind (a STATE above all)
        # or a full buffer, so every STATE still reaches the target with every record before it.
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
        if isinstance(message, StateMessage):
            self.last_state = copy.deepcopy(dict(message.value))  # the tap keeps mutating its state
            self.state_is_last = True
        else:
            self.state_is_last = False


class OneLineErrorsCommand(SingerCommand):
    """The SDK's command, with every mistake a user can fix printed as one line and exit code 1.

    The SDK handles errors only around a sync; `--config`, `--discover` and `--test` run as click callbacks
    before it, so their errors escaped as tracebacks.
    """

    def main(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return super().main(*args, **kwargs)
        except TapCallsError as exc:
            line = str(exc)
        except ConfigValidationError as exc:
            line = "invalid settings: " + "; ".join(exc.errors or [str(exc)])
        except MappingError as exc:
            line = f"stream_maps: {exc}"
        self.logger.error("%s", line)
        sys.exit(1)


class TapCalls(Tap):
    """Sales calls from Gong (calls, parties, transcripts, users) and Clari Copilot (clari_calls)."""

    name = "tap-calls"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = StateTrackingWriter

    @classmethod
    def known_settings(cls) -> set[str]:
        """Every setting name the tap reads, the SDK's built-in ones (stream_maps, batch_config, ...) too."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return set(schema["properties"])

    @classmethod
    def stream_replication_keys(cls) -> dict[str, str | None]:
        """Every stream this tap has, whichever sources are configured, with its replication key."""
        found: dict[str, str | None] = {}
        pending = list(Stream.__subclasses__())
        while pending:
            stream_class = pending.pop()
            pending.extend(stream_class.__subclasses__())
            name, key = getattr(stream_class, "name", None), getattr(stream_class, "replication_key", None)
            if stream_class.__module__.startswith("tap_calls.") and isinstance(name, str):
                found[name] = key if isinstance(key, str) else None
        return found

    @property
    def _env_var_config(self) -> dict[str, t.Any]:  # private SDK API: PluginBase._env_var_config
        """`--config ENV`: `TAP_CALLS_<SETTING>` variables, and a `.env` file in the current directory only.

        The SDK looks for `.env` from its own installed files upwards (python-dotenv's find_dotenv from the
        caller's file), so a tap installed in a project's `.venv` read that project's `.env` (where Meltano
        keeps secrets) from any directory, and its values replaced variables already set. Here variables
        already set win over the file, as with python-dotenv's load_dotenv.
        """
        schema = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(schema)
        prefix = self._env_var_prefix  # private SDK API: PluginBase._env_var_prefix
        dotenv = Path.cwd() / ".env"
        if dotenv.is_file():
            self.logger.info("--config ENV: reading %s too (variables already set win)", dotenv)
            load_dotenv(dotenv, override=False)
        # The SDK would load a .env again, overriding variables already set: os.devnull is a path that
        # python-dotenv reads as empty (it only reads regular files and FIFOs).
        config = parse_environment_config(schema, prefix, dotenv_path=os.devnull)
        known = {prefix + name.upper() for name in schema["properties"]} | {prefix + "LOGLEVEL"}
        unknown = {name: name[len(prefix) :].lower() for name in os.environ if name.startswith(prefix)}
        for variable, setting in sorted(unknown.items()):
            if variable not in known:
                guess = inputs.closest(setting, schema["properties"])
                hint = f"did you mean {prefix}{guess.upper()}?" if guess else "see `tap-calls --about`"
                self.logger.warning("unknown setting variable %s is ignored; %s", variable, hint)
        return config

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:  # private SDK API
        redact_secrets(str(self._config.get(name) or "") for name in SECRET_SETTINGS)
        for line in inputs.unknown_setting_warnings(self._config, self.known_settings()):
            self.logger.warning("%s", line)
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
        """Gong credentials are set: the OAuth refresh settings, `access_token`, or the key pair (check_settings
        rejects an incomplete set before a sync)."""
        return credential_kind(self.config) is not None

    @property
    def clari_configured(self) -> bool:
        return bool(self.config.get("clari_api_key") or self.config.get("clari_api_password"))

    def check_settings(self) -> None:
        """Settings a sync cannot start with, each reported as one line before any request."""
        config = self.config
        if not self.gong_configured and not self.clari_configured:
            msg = (
                "No source configured: set access_key and access_key_secret (or access_token, or the OAuth "
                "settings oauth_client_id, oauth_client_secret, oauth_refresh_token and oauth_token_store) for "
                "Gong, and/or clari_api_key and clari_api_password for Clari Copilot"
            )
            raise TapCallsError(msg)
        kind = credential_kind(config)
        if kind == "oauth":
            problem = oauth_problem(config)
            if problem:
                raise TapCallsError(problem)
        if config.get("access_key") and not config.get("access_key_secret") and kind == "key_pair":
            raise TapCallsError("access_key is set but access_key_secret is not: set both (or access_token)")
        if config.get("access_key_secret") and not config.get("access_key") and kind == "key_pair":
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
        for name in ("api_url", "clari_api_url", "oauth_token_url"):
            self._check_url(name, str(config.get(name) or ""))
        for name in ("requests_per_second", "clari_requests_per_second"):
            if float(config[name]) <= 0:
                raise TapCallsError(f"{name} must be greater than 0")
        if float(config["lookback_days"]) < 0:
            raise TapCallsError("lookback_days must not be negative")
        if float(config.get("call_ids_interval_hours") or 0) < 0:
            raise TapCallsError(
                "call_ids_interval_hours must not be negative (0: read call ids in full every run)"
            )

    @staticmethod
    def _check_url(name: str, value: str) -> None:
        parsed = urlparse(value)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            example = CONFIG_SCHEMA["properties"][name].get("default", "https://...")
            raise TapCallsError(f"{name} {value!r} is not a URL; expected e.g. {example}")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            msg = f"{name} {value!r} uses plain http; use https (http is only allowed for a loopback test server)"
            raise TapCallsError(msg)

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams (synced in this order: by name), but the lists of the calls that exist
        (`call_ids`, `clari_call_ids`) last: within `max_requests_per_run` or a quota, the weekly full
        listing must not spend what new data needs first. (`load_streams`, which sorts them, is final.)"""
        streams = super().streams
        for name in sorted(LISTS_OF_EXISTING_CALLS & streams.keys()):
            streams[name] = streams.pop(name)  # the SDK's own dict, reordered in place
        return streams

    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = []
        everything = not self.gong_configured and not self.clari_configured
        kind = credential_kind(self.config)
        if kind is not None:
            self.logger.info("Gong credentials: %s", KIND_NAMES[kind])
        if self.gong_configured or everything:
            gong = self.scheduler("Gong", "requests_per_second", 3, quota=10_000, period="day")
            batches = CallBatches()
            streams += [
                CallsStream(self, scheduler=gong, batches=batches),
                PartiesStream(self, scheduler=gong, batches=batches),
                TranscriptsStream(self, scheduler=gong, batches=batches),
                # After `transcripts`: children sync in this order, and a call's rows follow its record.
                TranscriptSentencesStream(self, scheduler=gong, batches=batches),
                UsersStream(self, scheduler=gong),
            ]
            streams += gong_more_streams(self, gong)
            streams += call_ids_streams(self, gong=gong)
        if self.clari_configured or everything:
            clari = self.scheduler(
                "Clari Copilot", "clari_requests_per_second", 10, quota=100_000, period="week"
            )
            directory = ClariDirectory()  # GET /users once per run, for clari_users and clari_calls' speakers
            streams += [
                ClariCallsStream(self, scheduler=clari, directory=directory),
                ClariTranscriptLinesStream(self, scheduler=clari),
                ClariUsersStream(self, scheduler=clari, directory=directory),
                ClariTopicsStream(self, scheduler=clari),
                ClariScorecardsStream(self, scheduler=clari),
                ClariScorecardTemplatesStream(self, scheduler=clari),
            ]
            streams += call_ids_streams(self, clari=clari)
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

    # Stream maps -------------------------------------------------------------------------------------------

    def setup_mapper(self) -> None:
        """The SDK's mapper, except that maps of streams that are not selected cannot stop the run.

        The SDK registers every catalog entry with its selected properties only: a stream that is not selected
        has none, so a map naming it (hashing `parties.email_address` with `parties` deselected) failed on its
        key properties and aborted the whole run (singer-sdk #1942). Selected streams are registered as the
        SDK does; the others with their full schema, and when a map still fails for one, without maps (its
        records are never written, but the SDK consults its primary map to filter child records).
        """
        self.mapper = PluginMapper(plugin_config=dict(self.config), logger=self.logger)
        selected: list[CatalogEntry] = []
        unselected: list[CatalogEntry] = []
        for entry in self.catalog.streams:
            is_selected = entry.metadata.resolve_selection().get((), False)
            (selected if is_selected else unselected).append(entry)
        self.mapper.register_raw_streams_from_catalog(Catalog((e.tap_stream_id, e) for e in selected))
        plain: PluginMapper | None = None
        for entry in unselected:
            name = entry.stream or entry.tap_stream_id
            schema = entry.schema.to_dict()
            try:
                self.mapper.register_raw_stream_schema(name, schema, entry.key_properties)
            except MappingError as exc:
                self.logger.info("stream_maps for %s not applied (the stream is not selected): %s", name, exc)
                if plain is None:
                    config = {k: v for k, v in self.config.items() if k != "stream_maps"}
                    plain = PluginMapper(plugin_config=config, logger=self.logger)
                plain.register_raw_stream_schema(name, schema, entry.key_properties)
                self.mapper.stream_maps[name] = plain.stream_maps[name]

    # State ----------------------------------------------------------------------------------------------

    def load_state(self, state: dict[str, t.Any]) -> None:
        """Load what is usable of `state`; one WARNING for each part that is not (see inputs.usable_state)."""
        usable, warnings = inputs.usable_state(state, self.stream_replication_keys())
        for line in warnings:
            self.logger.warning("%s", line)
        super().load_state(usable)

    def write_final_state(self) -> bool:
        """Make the last STATE written the last message of the run; True if it had to be written again.

        Call it on every way a run ends: a fatal stop (Retry-After longer than max_retry_wait_seconds, any
        error), a deliberate early stop (max_requests_per_run) and a normal end; `invoke` does so after
        `sync_all` returns or raises. Loaders built on singer-python (target-jsonl 0.1.4, Meltano Hub's default)
        hold the latest STATE until the next RECORD and emit only the one they hold when their input ends, so
        records of an unfinished window written after the last STATE made them report no state at all and
        Meltano saved none. The SDK's StateWriter skips a STATE equal to the last one, hence the message
        writer directly. The STATE written is the one written last, so nothing it claims is unfinished.
        """
        writer = self.message_writer
        if not isinstance(writer, StateTrackingWriter) or writer.last_state is None or writer.state_is_last:
            return False
        writer.write_message(StateMessage(value=writer.last_state))
        return True

    # Before a sync ----------------------------------------------------------------------------------------

    def warn_before_sync(self) -> None:
        """WARNINGs for a run that would read nothing or not what the user meant (the run goes on)."""
        known = self.stream_replication_keys()
        if self.input_catalog is not None:
            listed = {entry.tap_stream_id: entry for entry in self.input_catalog.streams}
            unknown = sorted(name for name in listed if name not in known)
            if unknown:
                self.logger.warning(
                    "the catalog lists streams this tap does not have, ignored: %s", ", ".join(unknown)
                )
            elsewhere = sorted(
                name
                for name, entry in listed.items()
                if name in known
                and name not in self.streams
                and entry.metadata.resolve_selection().get((), False)
            )
            if elsewhere:
                self.logger.warning(
                    "the catalog selects streams of a source that is not configured, not synced: %s "
                    "(Gong: access_key and access_key_secret, access_token, or the oauth_* settings; Clari: "
                    "clari_api_key and clari_api_password)",
                    ", ".join(elsewhere),
                )
            if not any(stream.selected for stream in self.streams.values()):
                self.logger.warning(
                    'the catalog selects no stream, so nothing is synced: set "selected": true in the '
                    "metadata of the streams to sync (with Meltano: meltano select tap-calls calls '*')"
                )
        # A range with nothing to read: each windowed stream warns itself, with its exact range (gong.py,
        # clari.py), since only it knows the look-back in effect.

    # Sync and connection test ------------------------------------------------------------------------------

    def report_connection_test(self) -> None:
        """What `--test` ends with: one line listing the streams skipped for scope (interface.md, "Scope or
        credentials"), then the credentials line if nothing of a source could be read."""
        skipped = {
            name: scope
            for streams in self.streams_by_source().values()
            for name, scope in self.skips(streams)
        }
        if skipped:
            self.logger.warning(
                "--test: streams skipped for scope: %s; grant the scopes, or deselect the streams",
                ", ".join(f"{name} ({scope})" for name, scope in sorted(skipped.items())),
            )
        else:
            self.logger.info("--test: no stream skipped for scope")
        self.check_some_stream_read()

    def streams_by_source(self) -> dict[str, list[SourceStream]]:
        """The streams of each configured source, by the source's name."""
        by_source: dict[str, list[SourceStream]] = {}
        for stream in self.streams.values():
            if isinstance(stream, SourceStream):
                by_source.setdefault(stream.source, []).append(stream)
        return by_source

    @staticmethod
    def skips(streams: list[SourceStream]) -> list[tuple[str, str]]:
        """(stream, scope) of each selected stream skipped for a missing scope."""
        return [(s.name, s.withdrawn.scope) for s in streams if s.selected and s.withdrawn is not None]

    def check_some_stream_read(self) -> None:
        """Fail when every selected stream of a source was skipped for scope: credentials that can read
        none of what was asked for are the credentials' problem, not a successful run.

        Raises:
            AuthError: one line naming the source's credential settings.
        """
        for source, streams in self.streams_by_source().items():
            selected = [s for s in streams if s.selected]
            skipped = self.skips(streams)
            if not selected or len(skipped) < len(selected):
                continue
            scopes = ", ".join(sorted({scope for _, scope in skipped}))
            msg = (
                f"{source} refused every selected stream ({len(selected)}, each for a missing scope: "
                f"{scopes}); check {selected[0].credential_settings}: these credentials read nothing "
                "this run asked for"
            )
            raise AuthError(msg)

    # Command line -----------------------------------------------------------------------------------------

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """`--config FILE|ENV`: a file that is missing, empty or not a JSON object is one line naming it."""
        for path in value:
            if path != "ENV":
                inputs.read_config_file(path)
        return super().cb_config(ctx, param, value)

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: the SDK's connection test (a record or so per stream), then `report_connection_test`."""
        if value != CliTestOptionValue.All.value:
            super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config")
        tap = cls(
            config=dict(config.config) if config is not None else {},
            parse_env_config=bool(config is not None and config.parse_env),
            validate_config=True,
        )
        tap.run_connection_test()
        tap.report_connection_test()
        ctx.exit()

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command; `--state` and `--catalog` are read by `invoke` (one line for a bad file)."""
        base = super().get_singer_command()
        for param in base.params:
            if param.name in {"state", "catalog"}:
                param.type = click.STRING
            if param.name == "state":
                param.help = "Use a bookmarks file for incremental replication (an empty file: no state yet)."
        return OneLineErrorsCommand(
            name=base.name,
            callback=base.callback,
            params=base.params,
            help=base.help,
            context_settings=base.context_settings,
            logger=cls.logger,
        )

    @classmethod
    def read_state_file(cls, path: str) -> dict[str, t.Any]:
        value = inputs.read_json_file(path, "state")
        if value is None:
            cls.logger.warning(
                "state file %r is empty: no state yet, each stream starts from start_date", path
            )
            return {}
        if not isinstance(value, dict):
            for line in inputs.usable_state(value, cls.stream_replication_keys())[1]:
                cls.logger.warning("%s", line)
            return {}
        return value

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: str | None = None,
        catalog: str | None = None,
    ) -> None:
        """A sync from the command line (the SDK's `Tap.invoke`, with files read and checked here).

        User-fixable errors (`TapCallsError`) end as one line and exit code 1 (OneLineErrorsCommand); whatever
        ends the sync, the last STATE written is the last message (`write_final_state`).
        """
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        state_dict = cls.read_state_file(state) if state else None
        input_catalog = None
        if catalog:
            try:
                input_catalog = Catalog.from_dict(inputs.read_catalog_file(catalog))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                msg = f"catalog file {catalog!r} is not a Singer catalog ({type(exc).__name__}: {exc})"
                raise TapCallsError(msg) from None
        tap = cls(
            config=dict(config.config) if config is not None else {},
            state=state_dict,
            catalog=input_catalog,
            parse_env_config=bool(config is not None and config.parse_env),
            validate_config=True,
        )
        tap.warn_before_sync()
        try:
            tap.sync_all()
            tap.check_some_stream_read()
        finally:
            tap.write_final_state()
