"""clari_calls end to end against the sandbox's Clari Copilot half."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import requests

from calls_sandbox import Sandbox
from tap_calls.dates import parse_datetime
from tests.harness import requests_to, run_tap, sandbox_fixture, tap_config

CONTRACT_FIELDS = [
    "id",
    "source_id",
    "title",
    "users",
    "external_participants",
    "status",
    "bot_not_join_reason",
    "type",
    "time",
    "icaluid",
    "calendar_id",
    "recurring_event_id",
    "original_start_time",
    "last_modified_time",
    "audio_url",
    "video_url",
    "disposition",
    "deal_name",
    "deal_value",
    "deal_close_date",
    "deal_stage_before_call",
    "account_name",
    "contact_names",
    "crm_info",
    "bookmark_timestamps",
    "metrics",
    "call_review_page_url",
    "deal_stage_live",
    "transcript",
    "summary",
    "competitor_sentiments",
]


sandbox = sandbox_fixture(seed=11, gong_calls=0, clari_calls=400, clari_span_days=400)


@pytest.fixture(scope="module")
def backfill(sandbox):
    sandbox.clear_log()
    config = tap_config(sandbox, "clari", days=420)
    return run_tap(config), list(sandbox.log), config


def test_every_call_once_with_its_details(sandbox, backfill):
    run, _, config = backfill
    truth = {c["id"]: c for c in sandbox.clari.expected_calls(parse_datetime(config["start_date"]))}
    ids = run.ids("clari_calls")
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(truth)
    for record in run.records["clari_calls"]:
        assert set(CONTRACT_FIELDS) <= set(record)
        served = truth[record["id"]]
        assert record["last_modified_time"] == served["last_modified_time"]
        assert record["summary"] == served.get("summary")
        assert record["deal_stage_live"] == served.get("deal_stage_live")
        if served.get("transcript"):
            assert record["transcript"][0]["text"] == served["transcript"][0]["text"]
            assert record["transcript"][0]["person_id"] == served["transcript"][0]["personId"]
        if served.get("users"):
            assert record["users"][0]["user_email"] == served["users"][0]["userEmail"]
    assert any(r["transcript"] for r in run.records["clari_calls"])
    assert any(r["summary"] and r["summary"]["topics_discussed"] for r in run.records["clari_calls"])


def test_omitted_fields_are_null_and_records_match_the_schema(backfill):
    run, _, _ = backfill
    assert any(r["source_id"] is None for r in run.records["clari_calls"])
    assert any(r["crm_info"] is None for r in run.records["clari_calls"])
    validator = jsonschema.Draft202012Validator(
        run.schemas["clari_calls"], format_checker=jsonschema.FormatChecker()
    )
    for record in run.records["clari_calls"]:
        validator.validate(record)


def test_a_call_unknown_to_call_details_is_skipped(sandbox, backfill):
    """Clari's advice for a /call-details 404: skip the record, do not fail the stream."""
    run, log, config = backfill
    listed = {
        c["id"]
        for c in sandbox.clari.expected_calls(
            parse_datetime(config["start_date"]), include_unknown_to_details=True
        )
    }
    missing = sandbox.clari.details_missing & listed
    assert missing
    assert {r.query["id"][0] for r in log if r.path == "/call-details" and r.status == 404} == missing
    assert not missing & set(run.ids("clari_calls"))


def test_one_details_request_per_call_and_frozen_windows(sandbox, backfill):
    run, log, _ = backfill
    details = [r for r in log if r.path == "/call-details"]
    asked = sorted(r.query["id"][0] for r in details)
    assert asked == sorted(set(run.ids("clari_calls")) | (sandbox.clari.details_missing & set(asked)))
    listing = [r for r in log if r.path == "/calls"]
    assert listing
    upper = {r.query["filterModifiedLt"][0] for r in listing}
    assert len(upper) == 1  # frozen at the run's start
    assert all(int(r.query["limit"][0]) <= 100 for r in listing)


def test_second_run_brings_only_what_changed(sandbox, backfill):
    run, _, config = backfill
    state = run.state
    bookmark = parse_datetime(state["bookmarks"]["clari_calls"]["replication_key_value"])
    untouched_old = [c["id"] for c in sandbox.clari.expected_calls(None, bookmark - timedelta(days=30))][:3]
    now = datetime.now(UTC)
    sandbox.clari.modify(untouched_old[:2], at=now - timedelta(seconds=1))
    added = sandbox.clari.add_calls(4, bookmark - timedelta(days=2), now - timedelta(seconds=1))
    sandbox.clear_log()

    # A full look-back (due on every run with lookback_interval_hours 0) re-lists 7 days before the bookmark,
    # but fetches and emits only the calls that are new or changed since they were last emitted.
    second = run_tap({**config, "lookback_interval_hours": 0}, state=state)

    changed = set(untouched_old[:2]) | {c["id"] for c in added} - sandbox.clari.private_ids
    ids = second.ids("clari_calls")
    assert sorted(ids) == sorted(changed)
    assert sorted(r.query["id"][0] for r in requests_to(sandbox, "clari", "/call-details")) == sorted(changed)
    assert untouched_old[2] not in ids
    # The filters take whole seconds; the first window starts one second early (strict filters).
    floor = (bookmark - timedelta(days=7, seconds=1)).replace(microsecond=0)
    for request in requests_to(sandbox, "clari", "/calls"):
        assert parse_datetime(request.query["filterModifiedGt"][0]) >= floor


def test_details_pool_never_exceeds_the_cap():
    with Sandbox(seed=9, gong_calls=0, clari_calls=90, clari_latency=0.15, clari_rate_limit=10) as sb:
        config = {**sb.clari_config(), "start_date": (sb.now - timedelta(days=400)).isoformat()}
        run = run_tap(config)
        assert sorted(run.ids("clari_calls")) == sorted(c["id"] for c in sb.clari.expected_calls())
        served = sorted(r.t_start for r in sb.log if r.source == "clari")
        # Sends are spaced 105 ms apart (10/s less 5 %); on a loaded machine one request may reach the server
        # 50 ms late and count with the next second's ten: one such 429 (1 %) is arrival jitter, not the tap.
        assert len([r for r in sb.log if r.status == 429]) <= 1
        # 11/s would put 11 arrivals into 0.91 s: the cap holds, with that jitter allowed.
        busiest = max(sum(1 for t in served if start <= t < start + 0.95) for start in served)
        assert busiest <= 10


CLARI_MORE = {"clari_users", "clari_topics", "clari_scorecards", "clari_scorecard_templates"}
GONG_STREAMS = {
    "calls",
    "parties",
    "transcripts",
    "transcript_sentences",
    "users",
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


@pytest.mark.parametrize(
    ("sources", "streams"),
    [
        (("gong",), GONG_STREAMS),
        (("clari",), {"clari_calls", "clari_transcript_lines", *CLARI_MORE}),
        (("gong", "clari"), {*GONG_STREAMS, "clari_calls", "clari_transcript_lines", *CLARI_MORE}),
    ],
)
def test_each_configured_source_syncs_just_its_streams(sources, streams):
    with Sandbox(
        seed=2, gong_calls=60, gong_span_days=30, gong_users=10, clari_calls=20, clari_span_days=30
    ) as sb:
        run = run_tap(tap_config(sb, *sources, days=31))
        assert {stream for stream, rows in run.records.items() if rows} == streams
        assert {r.source for r in sb.log} == set(sources)


def test_a_call_leaving_the_window_while_paging_shifts_no_other_call_out(monkeypatch):
    """A call modified mid-run leaves the frozen window and shifts later offsets by one; the window is
    listed again so the call that slid onto an already-read page still arrives."""
    from tap_calls.clari import ClariCallsStream

    with Sandbox(seed=12, gong_calls=0, clari_calls=220, clari_span_days=30) as sb:
        start = sb.now - timedelta(days=31)
        before = {c["id"] for c in sb.clari.expected_calls(start)}
        original = ClariCallsStream.fetch_details
        calls: list[str] = []

        def fetch_and_meanwhile_modify(self, call_id):
            calls.append(call_id)
            if len(calls) == 60:  # while page 2 is being processed, page 1's first call changes
                sb.clari.modify([calls[0]], at=datetime.now(UTC) + timedelta(seconds=5))
            return original(self, call_id)

        monkeypatch.setattr(ClariCallsStream, "fetch_details", fetch_and_meanwhile_modify)
        run = run_tap(tap_config(sb, "clari", start_date=start.isoformat()))
        assert set(run.ids("clari_calls")) == before
        assert len(run.ids("clari_calls")) == len(before)


def test_calls_in_an_unstable_order_are_all_listed():
    """Clari promises no order among calls with equal `time`: pages may overlap and skip calls."""
    with Sandbox(seed=13, gong_calls=0, clari_calls=700, clari_span_days=3, clari_unstable_order=True) as sb:
        start = sb.now - timedelta(days=4)
        run = run_tap(tap_config(sb, "clari", start_date=start.isoformat()))
        ids = run.ids("clari_calls")
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(c["id"] for c in sb.clari.expected_calls(start))
        listing = requests_to(sb, "clari", "/calls")
        assert len(listing) > 700 / 50  # some listings were split in parts


def test_a_page_too_large_for_clari_is_asked_for_again_smaller():
    """Clari answers a page over its payload cap with a 502 and advises a smaller `limit` on the retry."""
    with Sandbox(seed=14, gong_calls=0, clari_calls=120, clari_span_days=10) as sb:
        start = sb.now - timedelta(days=11)
        full_page = requests.get(
            sb.clari_url + "/calls",
            params={"limit": 50},
            headers={"X-Api-Key": sb.CLARI_API_KEY, "X-Api-Password": sb.CLARI_API_PASSWORD},
            timeout=10,
        )
        sb.clari_max_payload = len(full_page.content) // 3  # a page of 50 is too large; one of 12 fits
        sb.clear_log()
        run = run_tap(tap_config(sb, "clari", start_date=start.isoformat()))
        assert sorted(run.ids("clari_calls")) == sorted(c["id"] for c in sb.clari.expected_calls(start))
        listing = requests_to(sb, "clari", "/calls")
        assert {int(r.query["limit"][0]) for r in listing if r.status == 502} >= {50}
        assert {int(r.query["limit"][0]) for r in listing if r.status == 200} <= {12, 6}


def test_the_range_starts_at_start_date_not_a_second_before():
    """The first window reaches back a second (strict, whole-second filters); records before start_date are
    trimmed, and a call modified exactly at start_date is kept."""
    with Sandbox(seed=16, gong_calls=0, clari_calls=30, clari_span_days=10) as sb:
        start = sb.now - timedelta(days=5)
        early = sb.clari.add_calls(
            1, start - timedelta(milliseconds=500), start - timedelta(milliseconds=499)
        )
        exact = sb.clari.add_calls(1, start, start + timedelta(milliseconds=1))
        run = run_tap(tap_config(sb, "clari", start_date=start.isoformat()))
        ids = set(run.ids("clari_calls"))
        assert early[0]["id"] not in ids
        assert parse_datetime(exact[0]["last_modified_time"]) == start
        assert ids == {c["id"] for c in sb.clari.expected_calls(start - timedelta(microseconds=1))}


def test_numeric_ids_become_strings():
    """Clari's spec types CRM ids and deal_value as strings; a number sent in their place keeps its digits."""
    from tap_calls.clari import _ids_as_strings

    record = {
        "source_id": 42,
        "deal_value": 12000.5,
        "crm_info": {"deal_id": 123456789, "account_id": "A-1", "contact_ids": [111, "222", True]},
    }
    _ids_as_strings(record)
    assert record == {
        "source_id": "42",
        "deal_value": "12000.5",
        "crm_info": {"deal_id": "123456789", "account_id": "A-1", "contact_ids": ["111", "222", True]},
    }
