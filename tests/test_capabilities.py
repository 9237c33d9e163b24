"""SDK capabilities the tap advertises, each exercised against the sandbox: stream maps, flattening, BATCH."""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tap_calls.gong import CallsStream
from tap_calls.keys import snake
from tests.harness import run_tap, sandbox_fixture, selecting, tap_config

ROOT = Path(__file__).resolve().parents[1]

sandbox = sandbox_fixture(
    seed=13, gong_calls=260, gong_span_days=40, gong_users=110, clari_calls=30, clari_span_days=40
)


def test_capabilities_are_advertised():
    from tap_calls.tap import TapCalls

    assert {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening", "batch"} <= {
        str(c) for c in TapCalls.capabilities
    }


def test_a_stream_map_hashes_email_addresses(sandbox):
    maps = {
        "users": {"email_address": "__NULL__", "email_hash": "sha256(record['email_address'] or '')"},
        "parties": {"email_address": "__NULL__", "email_hash": "sha256(record['email_address'] or '')"},
    }
    run = run_tap(tap_config(sandbox, days=41, stream_maps=maps))
    by_id = {u["id"]: u for u in sandbox.gong.users}
    assert len(run.records["users"]) == len(by_id)
    for user in run.records["users"]:
        assert "email_address" not in user
        assert (
            user["email_hash"]
            == hashlib.sha256((by_id[user["id"]]["emailAddress"] or "").encode()).hexdigest()
        )
    assert run.records["parties"] and all("email_address" not in p for p in run.records["parties"])
    assert "email_hash" in run.schemas["users"]["properties"]
    assert "email_address" not in run.schemas["users"]["properties"]


def test_flattening_at_depth_one(sandbox):
    run = run_tap(tap_config(sandbox, days=41, flattening_enabled=True, flattening_max_depth=1))
    call = run.records["calls"][0]
    assert "interaction__questions" in call and "interaction" not in call
    assert isinstance(call["interaction__questions"], str)  # deeper levels become JSON strings
    assert "interaction__questions" in run.schemas["calls"]["properties"]
    served = {u["id"]: u for u in sandbox.gong.users}
    user = run.records["users"][0]
    settings_keys = {f"settings__{snake(k)}" for k in served[user["id"]]["settings"]}
    assert settings_keys and settings_keys <= set(user)


def test_batch_messages_write_jsonl_gz_files_that_hold_every_record(sandbox, tmp_path, monkeypatch):
    # Several windows, so the watermark moves while records still wait in open batch files.
    monkeypatch.setattr(CallsStream, "window_split_records", 40)
    monkeypatch.setattr(CallsStream, "window_min_records", 20)
    monkeypatch.setattr(CallsStream, "window_target_records", 30)
    config = tap_config(
        sandbox,
        days=41,
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
        },
    )
    run = run_tap(config)
    batches = [m for m in run.messages if m["type"] == "BATCH"]
    assert batches and not any(m["type"] == "RECORD" for m in run.messages)
    counted: dict[str, list[dict]] = {}
    for message in batches:
        for uri in message["manifest"]:
            with gzip.open(urlparse(uri).path, "rt") as handle:
                counted.setdefault(message["stream"], []).extend(json.loads(line) for line in handle)
    start = sandbox.now - timedelta(days=41)
    calls = sandbox.gong.expected_calls(start, datetime.now(UTC))
    assert sorted(r["id"] for r in counted["calls"]) == sorted(c.id for c in calls)
    assert sorted(r["call_id"] for r in counted["transcripts"]) == sorted(
        c.id for c in calls if c.has_transcript
    )
    assert len(counted["parties"]) == sum(len(sandbox.gong.parties(c.id) or ()) for c in calls)
    assert len(counted["users"]) == len(sandbox.gong.users)
    assert sorted(r["id"] for r in counted["clari_calls"]) == sorted(
        c["id"] for c in sandbox.clari.expected_calls(start)
    )
    # Bookmarks move only at the end of a stream in BATCH mode, after its last BATCH message.
    positions = {i: m for i, m in enumerate(run.messages) if m["type"] in {"BATCH", "STATE"}}
    last_calls_batch = max(i for i, m in positions.items() if m["type"] == "BATCH" and m["stream"] == "calls")
    for i, m in positions.items():
        if m["type"] == "STATE" and m["value"].get("bookmarks", {}).get("calls", {}).get(
            "replication_key_value"
        ):
            assert i > last_calls_batch


CLARI_STREAMS = (
    "clari_calls",
    "clari_transcript_lines",
    "clari_users",
    "clari_topics",
    "clari_scorecards",
    "clari_scorecard_templates",
    "clari_call_ids",
)
GONG_MORE = {
    "workspaces",
    "scorecards",
    "answered_scorecards",
    "trackers",
    "call_outcomes",
    "library_folders",
    "library_folder_calls",
    "user_daily_activity",
    "interaction_stats",
}
GONG = {"calls", "parties", "transcripts", "transcript_sentences", "users", "call_ids", *GONG_MORE}


@pytest.mark.parametrize(
    ("config", "streams"),
    [
        ({}, {*GONG, *CLARI_STREAMS}),
        ({"access_key": "k", "access_key_secret": "s"}, GONG),
        ({"access_token": "t"}, GONG),
        ({"clari_api_key": "k", "clari_api_password": "p"}, set(CLARI_STREAMS)),
    ],
)
def test_discovery_lists_the_configured_sources_streams_with_the_contract_keys(config, streams):
    from tap_calls.tap import TapCalls

    catalog = TapCalls(config=config, parse_env_config=False, validate_config=False).catalog_dict
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(entries) == streams
    contract = {
        "calls": (["id"], "started"),
        "parties": (["call_id", "id"], "call_started"),
        "transcripts": (["call_id"], "call_started"),
        "users": (["id"], None),
        "clari_calls": (["id"], "last_modified_time"),
        "transcript_sentences": (["call_id", "sentence_index"], "call_started"),
        "clari_transcript_lines": (["call_id", "line_index"], "last_modified_time"),
        "clari_users": (["id"], None),
        "clari_topics": (["topic_id"], None),
        "clari_scorecards": (["id"], None),
        "clari_scorecard_templates": (["id"], None),
        "workspaces": (["id"], None),
        "scorecards": (["scorecard_id"], None),
        "answered_scorecards": (["answered_scorecard_id"], "review_time"),
        "trackers": (["tracker_id"], None),
        "call_outcomes": (["call_outcome"], None),
        "library_folders": (["id"], None),
        "library_folder_calls": (["folder_id", "call_id", "created"], None),
        "user_daily_activity": (["user_id", "date"], "date"),
        "interaction_stats": (["user_id", "date"], "date"),
        "call_ids": (["id"], None),
        "clari_call_ids": (["id"], None),
    }
    for name, entry in entries.items():
        assert (list(entry["key_properties"]), entry.get("replication_key")) == contract[name]


# The contract's settings table (../shared/interface.md): users' pipelines depend on these names.
CONTRACT_SETTINGS = {
    "access_key": ("string", None, False),
    "access_key_secret": ("string", None, True),
    "access_token": ("string", None, True),
    "api_url": ("string", "https://api.gong.io", False),
    "workspace_id": ("string", None, False),
    "clari_api_key": ("string", None, True),
    "clari_api_password": ("string", None, True),
    "clari_api_url": ("string", "https://rest-api.copilot.clari.com", False),
    "start_date": ("string", None, False),
    "end_date": ("string", None, False),
    "lookback_days": ("number", 7, False),
    "include_private_calls": ("boolean", False, False),
    "include_media_urls": ("boolean", False, False),
    "requests_per_second": ("number", 3, False),
    "clari_requests_per_second": ("number", 10, False),
    "max_retry_wait_seconds": ("number", 600, False),
    "call_ids_interval_hours": ("number", 168, False),
}


def test_settings_are_the_contracts_names_types_defaults_and_secrets():
    from tap_calls.tap import TapCalls

    properties = TapCalls.config_jsonschema["properties"]
    assert set(CONTRACT_SETTINGS) <= set(properties)
    for name, (kind, default, secret) in CONTRACT_SETTINGS.items():
        setting = properties[name]
        assert kind in setting["type"], name
        assert setting.get("default") == default, name
        assert bool(setting.get("secret")) is secret, name
        assert setting.get("description"), name
    assert properties["start_date"]["format"] == properties["end_date"]["format"] == "date-time"


def test_the_sdk_logs_http_request_count_per_endpoint(sandbox, caplog):
    """The SDK's own `http_request_count` metric, one counter per endpoint, with the sandbox's exact counts."""
    caplog.set_level(logging.INFO, logger="singer_sdk.metrics")
    sandbox.clear_log()
    config = tap_config(sandbox, days=41)
    run_tap(config, catalog=selecting(config, {"calls", "parties", "transcripts", "clari_calls"}))
    logged: collections.Counter[tuple[str, str]] = collections.Counter()
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("METRIC: ") and '"http_request_count"' in message:
            point = json.loads(message.removeprefix("METRIC: "))
            logged[point["tags"]["stream"], point["tags"]["endpoint"]] += point["value"]
    served = collections.Counter(
        (r.source, urlparse(r.path).path) for r in sandbox.log if r.source in {"gong", "clari"}
    )
    assert logged[("calls", "/v2/calls/extensive")] == served[("gong", "/v2/calls/extensive")] > 0
    assert logged[("transcripts", "/v2/calls/transcript")] == served[("gong", "/v2/calls/transcript")] > 0
    assert logged[("clari_calls", "/calls")] == served[("clari", "/calls")] > 0
    assert logged[("clari_calls", "/call-details")] == served[("clari", "/call-details")] > 0


def test_only_the_scheduler_starts_threads():
    """Issue 10: one module decides concurrency; a thread started anywhere else would escape the cap."""
    starters = ("threading.Thread(", "ThreadPoolExecutor(", "threading.Timer(", "multiprocessing")
    found = [
        f"{path.relative_to(ROOT)}: {word}"
        for path in sorted((ROOT / "tap_calls").rglob("*.py"))
        for word in starters
        if word in path.read_text(encoding="utf-8") and path.name != "scheduler.py"
    ]
    assert not found, found
