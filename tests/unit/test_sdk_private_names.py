"""The private singer-sdk names tap-calls relies on (each marked "private SDK API" where it is used).

When an SDK upgrade renames or removes one of them, this fails first, naming it, rather than a sync
misbehaving quietly.
"""

from __future__ import annotations

import inspect
import os

import pytest
from dotenv.main import DotEnv
from singer_sdk import RESTStream, Stream, Tap
from singer_sdk.configuration import _dict_config
from singer_sdk.plugin_base import PluginBase

from tap_calls.tap import TapCalls

PRIVATE_NAMES = [
    # client.SourceStream.sender: authenticate, send, log http_request_duration, validate_response.
    (RESTStream, "_request", ["prepared_request", "context"]),
    # client.SourceStream._write_schema_message: SCHEMA once per stream, not once per child sync.
    (Stream, "_write_schema_message", []),
    # windowed.WindowedStream.commit, gong_more.DayStream.commit_days, call_ids: a STATE when a window finishes.
    (Stream, "_write_state_message", []),
    # gong._CallsRun: the SDK's child sync, once per batch of calls; clari.ClariCallsStream.emit_lines, per call.
    (Stream, "_sync_children", ["child_context"]),
    # bookmarks.BookmarkedByRun (windowed streams, their children, day streams): bookmarks move only with
    # their run's finished windows or days, never per record.
    (Stream, "_increment_stream_state", ["latest_record"]),
    # client.SourceStream._generate_record_messages: no walk over records when nothing is deselected.
    (Stream, "_generate_record_messages", ["record"]),
    # tap.TapCalls._validate_config: settings checked (one line each) before any request.
    (Tap, "_validate_config", []),
    # table_versions.activate: ACTIVATE_VERSION (one per stream map) after a complete full-table read.
    (Stream, "_write_activate_version_message", ["full_table_version"]),
]


@pytest.mark.parametrize(("owner", "name", "parameters"), PRIVATE_NAMES, ids=[n for _, n, _ in PRIVATE_NAMES])
def test_private_sdk_name_still_exists(owner, name, parameters):
    member = getattr(owner, name, None)
    assert callable(member), f"singer-sdk no longer has {owner.__name__}.{name}: see where tap-calls uses it"
    signature = inspect.signature(member)
    for parameter in parameters:
        assert parameter in signature.parameters, f"{owner.__name__}.{name} lost its {parameter!r} parameter"


# tap.TapCalls._env_var_config (--config ENV reads ./.env only, variables already set win) and
# tap.TapCalls._validate_config (unknown-setting warnings too).


def test_env_var_config_hook_still_exists() -> None:
    # TapCalls._env_var_config replaces PluginBase._env_var_config (to read only ./.env with --config ENV):
    # the SDK must still read the env config through that name when parse_env_config is on.
    assert "_env_var_config" in PluginBase.__dict__
    assert "self._env_var_config" in inspect.getsource(PluginBase.__init__)
    assert isinstance(TapCalls.__dict__["_env_var_config"], property)
    assert "_env_var_prefix" in PluginBase.__dict__
    assert TapCalls._env_var_prefix == "TAP_CALLS_"


def test_parse_environment_config_takes_a_dotenv_path() -> None:
    params = inspect.signature(_dict_config.parse_environment_config).parameters
    assert list(params)[:3] == ["config_schema", "prefix", "dotenv_path"]


def test_validate_config_hook_still_exists() -> None:
    # TapCalls._validate_config adds number coercion, the settings checks and unknown-setting warnings.
    assert "_validate_config" in PluginBase.__dict__
    assert "self._validate_config(" in inspect.getsource(PluginBase.__init__)
    params = inspect.signature(PluginBase._validate_config).parameters
    assert "raise_errors" in params


def test_devnull_reads_as_an_empty_dotenv() -> None:
    # TapCalls._env_var_config passes os.devnull to parse_environment_config so that the SDK loads no .env
    # of its own (it would override variables already set).
    assert DotEnv(os.devnull).dict() == {}


def test_records_carry_the_stream_version_attribute() -> None:
    # table_versions.stamp sets Stream._stream_version, which the SDK puts in every RECORD's `version`.
    from singer_sdk.streams.core import Stream as CoreStream

    assert "self._stream_version: int | None = None" in inspect.getsource(CoreStream.__init__)
    assert "version=self._stream_version" in inspect.getsource(CoreStream._generate_record_messages)
