"""clari_users, clari_topics, clari_scorecards and clari_scorecard_templates end to end against the sandbox."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from datetime import timedelta

import jsonschema
import pytest
import requests

from calls_sandbox import Sandbox
from calls_sandbox.data import parse_iso
from tap_calls.dates import iso
from tap_calls.errors import TapCallsError
from tap_calls.tap import TapCalls
from tests.harness import requests_to, run_tap, sandbox_fixture, selecting, tap_config

NEW_STREAMS = ("clari_users", "clari_topics", "clari_scorecards", "clari_scorecard_templates")
# The contract's fields (interface.md, "Streams beyond calls") and primary keys.
CONTRACT = {
    "clari_users": (("id",), ["id", "email", "name", "role", "is_recording", "manager_id"]),
    "clari_topics": (
        ("topic_id",),
        ["topic_id", "topic_name", "type", "team_ids", "custom_topic", "keyword_topic"],
    ),
    "clari_scorecards": (
        ("id",),
        ["id", "type", "rep", "scorer", "template_id", "call_id", "total_score", "remark", "questions_score"],
    ),
    "clari_scorecard_templates": (("id",), ["id", "customer_id", "name", "type", "questions"]),
}
ID_FIELDS = {
    "clari_users": ["id", "manager_id"],
    "clari_topics": ["topic_id"],
    "clari_scorecards": ["id", "rep", "scorer", "template_id", "call_id"],
    "clari_scorecard_templates": ["id", "customer_id"],
}
PATHS = {
    "clari_users": "/users",
    "clari_topics": "/v2/topics",
    "clari_scorecards": "/scorecard",
    "clari_scorecard_templates": "/scorecard-template",
}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
MANY = 12_000


def truth(sb: Sandbox, stream: str) -> list[dict]:
    more = sb.clari_more
    return {
        "clari_users": more.expected_users,
        "clari_topics": more.expected_topics,
        "clari_scorecards": more.expected_scorecards,
        "clari_scorecard_templates": more.expected_templates,
    }[stream]()


def key(record: dict, keys: tuple[str, ...]) -> tuple:
    return tuple(record[k] for k in keys)


def all_keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *all_keys(v)]]
    if isinstance(value, list):
        return [k for v in value for k in all_keys(v)]
    return []


sandbox = sandbox_fixture(
    seed=21,
    gong_calls=0,
    clari_calls=80,
    clari_scorecards=MANY,
    clari_topics=20,
    clari_scorecard_templates=5,
)


@pytest.fixture(scope="module")
def backfill(sandbox):
    """One run of the four streams, with a start_date/end_date the full-table streams must ignore."""
    sandbox.clear_log()
    config = tap_config(
        sandbox,
        "clari",
        start_date=iso(sandbox.now - timedelta(days=2)),
        end_date=iso(sandbox.now - timedelta(days=1)),
    )
    run = run_tap(config, catalog=selecting(config, NEW_STREAMS))
    return run, list(sandbox.log), config


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_every_record_once_exactly_as_the_api_sent_it(sandbox, backfill, stream):
    run, _, _ = backfill
    keys, fields = CONTRACT[stream]
    expected = {key(item, keys): item for item in truth(sandbox, stream)}
    records = run.records[stream]
    assert len(expected) > 3
    got = [key(r, keys) for r in records]
    assert len(got) == len(set(got)), "primary keys repeat"
    assert set(got) == set(expected)
    assert len(records) == len(expected)
    for record in records:
        assert set(record) == set(fields)
        item = expected[key(record, keys)]
        # Every value equals the API's; a field the API left out is null.
        assert record == {f: item.get(f) for f in fields}


def test_omitted_fields_come_out_as_null(sandbox, backfill):
    run, _, _ = backfill
    users = {u["id"]: u for u in run.records["clari_users"]}
    without_manager = [u for u in sandbox.clari_more.expected_users() if "manager_id" not in u]
    assert without_manager
    assert all(users[u["id"]]["manager_id"] is None for u in without_manager)
    assert any(r["remark"] is None for r in run.records["clari_scorecards"])
    topics = run.records["clari_topics"]
    assert any(t["custom_topic"] is None for t in topics) and any(t["keyword_topic"] is None for t in topics)


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_records_match_their_schema_with_snake_case_names_and_string_ids(backfill, stream):
    run, _, _ = backfill
    schema = run.schemas[stream]
    keys, _ = CONTRACT[stream]
    assert list(
        run.messages[[m.get("stream") for m in run.messages].index(stream)]["key_properties"]
    ) == list(keys)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for record in run.records[stream]:
        errors = list(validator.iter_errors(record))
        assert not errors, errors[0].message
        assert all(SNAKE.match(k) for k in all_keys(record))
        for field in ID_FIELDS[stream]:
            assert record[field] is None or isinstance(record[field], str)
    for field in ID_FIELDS[stream]:
        kinds = schema["properties"][field]["type"]
        assert "string" in kinds and not {"integer", "number"} & set(kinds)


def test_clari_user_ids_are_the_ids_calls_carry(sandbox, backfill):
    """The speaker join needs them: every current user in a Clari call is a clari_users id (the sandbox's
    former users, gone from GET /users, are the only ones missing)."""
    run, _, _ = backfill
    in_calls = {u["userId"]: u["userEmail"] for call in sandbox.clari.calls for u in call["users"]}
    current = {i for i, email in in_calls.items() if ".former@" not in email}
    assert current and len(current) < len(in_calls)
    assert set(in_calls) & set(run.ids("clari_users")) == current


def test_full_table_streams_cost_one_request_each_and_ignore_the_dates(sandbox, backfill):
    _, log, _ = backfill
    for stream in ("clari_users", "clari_topics", "clari_scorecard_templates"):
        served = [r for r in log if r.path == PATHS[stream]]
        assert len(served) == 1, stream
        assert served[0].status == 200
        assert not {q for q in served[0].query if q.startswith("filter")}, "a full read filters nothing"
    assert {r.path for r in log} == set(PATHS.values())


def test_all_twelve_thousand_scorecards_arrive_past_the_skip_cap(sandbox, backfill):
    run, log, _ = backfill
    assert len(run.records["clari_scorecards"]) == MANY > 10_000
    scorecards = [r for r in log if r.path == "/scorecard"]
    assert all(r.status == 200 for r in scorecards)
    assert max(int(r.query["skip"][-1]) for r in scorecards) <= 10_000
    assert all(int(r.query["limit"][-1]) == 100 for r in scorecards)


def test_scorecard_listings_cost_only_what_the_bisection_needs(sandbox, backfill):
    """Per listing (one filterTimeGt/Lt pair): a listing beyond skip's reach costs its one first page; one
    within reach costs exactly its pages; an earlier half known to be empty (parent minus later half) is never
    asked for. Halves overlap by exactly one second."""
    _, log, _ = backfill
    listings: Counter = Counter()
    skips: dict[tuple, list[int]] = {}
    for r in (r for r in log if r.path == "/scorecard"):
        bounds = (r.query.get("filterTimeGt", [None])[-1], r.query.get("filterTimeLt", [None])[-1])
        listings[bounds] += 1
        skips.setdefault(bounds, []).append(int(r.query["skip"][-1]))

    def when(value: str | None):
        return parse_iso(value) if value else None

    def matched(bounds: tuple) -> list[dict]:
        return sandbox.clari_more.expected_scorecards(when(bounds[0]), when(bounds[1]))

    too_large = [b for b in listings if len(matched(b)) > 10_000]
    for bounds, count in listings.items():
        n = len(matched(bounds))
        assert n > 0, f"listing {bounds} is empty"
        if bounds in too_large:
            assert count == 1
        else:
            assert count == math.ceil(n / 100)
            assert sorted(skips[bounds]) == list(range(0, n, 100))
    assert too_large
    for gt, lt in too_large:
        # Its later half: same end, the earliest start after its own; the earlier half ends 1 s after that start.
        later = min(
            (b for b in listings if b[1] == lt and b[0] and (gt is None or when(b[0]) > when(gt))),
            key=lambda b: when(b[0]),
        )
        split = iso(when(later[0]) + timedelta(seconds=1))
        earlier = (gt, split)
        if earlier not in listings:  # skipped: everything in it is in the later half (the overlap second)
            assert {s["id"] for s in matched(earlier)} <= {s["id"] for s in matched(later)}
    total = sum(listings.values())
    leaves = len(listings) - len(too_large)
    # The unavoidable pages, a partial last page per leaf part, and one first page per split listing: halving
    # from 2015 to now reaches data spread over the last 400 days in a few splits.
    assert total <= math.ceil(MANY / 100) + leaves - 1 + len(too_large)
    assert len(too_large) <= 6


def test_full_table_streams_activate_a_version_after_their_records(backfill):
    run, _, _ = backfill
    for stream in NEW_STREAMS:
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert (
            kinds[0] == "SCHEMA" and kinds[-1] == "ACTIVATE_VERSION" and kinds.count("ACTIVATE_VERSION") == 1
        )
        assert set(kinds[1:-1]) == {"RECORD"}, stream
        version = next(
            m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        )
        assert {m["version"] for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream} == {
            version
        }


def test_scorecards_on_split_seconds_are_kept_once():
    """Twelve thousand scorecards on whole seconds, two or more in every second: each split second holds some,
    and only the one-second overlap of the halves keeps them (a strict Gt/Lt pair leaves that second out)."""
    with Sandbox(
        seed=5, gong_calls=0, clari_calls=20, clari_scorecards=MANY, clari_scorecard_span_days=0.07
    ) as sb:
        times = Counter(s.time for s in sb.clari_more.scorecard_index())
        assert min(times.values()) >= 1 and all(t.microsecond == 0 for t in times)
        config = tap_config(sb, "clari")
        run = run_tap(config, catalog=selecting(config, {"clari_scorecards"}))
        ids = run.ids("clari_scorecards")
        assert len(ids) == len(set(ids)) == MANY
        assert set(ids) == {s["id"] for s in sb.clari_more.expected_scorecards()}
        listings = requests_to(sb, "clari", "/scorecard")
        assert len({r.query.get("filterTimeLt", [""])[-1] for r in listings}) > 2


def test_a_scorecard_page_too_large_for_clari_is_asked_for_again_smaller():
    """Clari answers over 6 MB with a 502 and advises a smaller `limit` on the retry."""
    with Sandbox(seed=12, gong_calls=0, clari_calls=30, clari_scorecards=300) as sb:
        page = requests.get(
            sb.clari_url + "/scorecard",
            params={"limit": 30},
            headers={"X-Api-Key": sb.CLARI_API_KEY, "X-Api-Password": sb.CLARI_API_PASSWORD},
            timeout=10,
        )
        sb.clari_max_payload = len(page.content)  # a page of 100 or 50 is too large; one of 25 fits
        sb.clear_log()
        config = tap_config(sb, "clari")
        run = run_tap(config, catalog=selecting(config, {"clari_scorecards"}))
        assert sorted(run.ids("clari_scorecards")) == sorted(
            s["id"] for s in sb.clari_more.expected_scorecards()
        )
        served = requests_to(sb, "clari", "/scorecard")
        assert [(int(r.query["limit"][-1]), r.status) for r in served[:3]] == [
            (100, 502),
            (50, 502),
            (25, 200),
        ]
        assert {int(r.query["limit"][-1]) for r in served[2:]} == {25} and len(served) == 2 + 12


def test_more_scorecards_in_one_second_than_skip_reaches_are_read_as_far_as_it_reaches(caplog):
    """Clari's own limit: the tap cannot split a second; it reads the first 10,100, says so, and never asks
    for skip > 10,000."""
    with Sandbox(seed=13, gong_calls=0, clari_calls=20, clari_scorecards=30) as sb:
        instant = sb.now.replace(microsecond=0) - timedelta(days=3)
        sb.clari_more.add_scorecards(10_150, instant, instant)
        config = tap_config(sb, "clari")
        with caplog.at_level("WARNING"):
            run = run_tap(config, catalog=selecting(config, {"clari_scorecards"}))
        ids = run.ids("clari_scorecards")
        assert len(ids) == len(set(ids))
        second = timedelta(seconds=1)
        crowded = {s["id"] for s in sb.clari_more.expected_scorecards(instant - second, instant + second)}
        others = {s["id"] for s in sb.clari_more.expected_scorecards()} - crowded
        assert len(crowded) == 10_150 and len(others) == 30
        assert others <= set(ids)  # every scorecard outside the crowded second
        assert len(set(ids) & crowded) == 10_100  # and as many of it as skip reaches
        served = requests_to(sb, "clari", "/scorecard")
        assert all(r.status == 200 for r in served)
        assert max(int(r.query["skip"][-1]) for r in served) == 10_000
        assert "more than skip reaches" in caplog.text
        assert "more scorecards than it returned" in caplog.text


@pytest.mark.parametrize("spelling", ["scoreCardTemplates", "scorecardTemplates"])
def test_templates_arrive_under_either_spelling_of_the_list_key(spelling):
    with Sandbox(
        seed=8,
        gong_calls=0,
        clari_calls=10,
        clari_scorecards=0,
        clari_scorecard_templates=7,
        clari_template_key=spelling,
    ) as sb:
        body = requests.get(
            sb.clari_url + "/scorecard-template",
            headers={"X-Api-Key": sb.CLARI_API_KEY, "X-Api-Password": sb.CLARI_API_PASSWORD},
            timeout=10,
        ).json()
        assert list(body) == [spelling]
        sb.clear_log()
        config = tap_config(sb, "clari")
        run = run_tap(config, catalog=selecting(config, {"clari_scorecard_templates"}))
        assert sorted(run.ids("clari_scorecard_templates")) == sorted(
            t["id"] for t in sb.clari_more.templates
        )
        assert len(run.ids("clari_scorecard_templates")) == 7
        assert len(requests_to(sb, "clari", "/scorecard-template")) == 1


small = sandbox_fixture(scope="function", seed=9, gong_calls=0, clari_calls=30, clari_scorecards=250)


def test_scorecards_are_read_in_full_at_most_once_per_interval(small, caplog):
    config = tap_config(small, "clari")
    catalog = selecting(config, {"clari_scorecards"})
    first = run_tap(config, catalog=catalog)
    assert len(first.records["clari_scorecards"]) == 250
    stamp = first.state["bookmarks"]["clari_scorecards"]["last_full_read"]
    assert abs(parse_iso(stamp) - small.now) < timedelta(minutes=5)
    assert len(requests_to(small, "clari", "/scorecard")) == 3  # 250 scorecards, 100 a page

    late = small.clari_more.add_scorecards(4, small.now - timedelta(hours=2), small.now - timedelta(hours=1))
    small.clear_log()
    with caplog.at_level("INFO"):
        second = run_tap(config, state=first.state, catalog=catalog)
    assert requests_to(small, "clari", "/scorecard") == []
    assert second.records["clari_scorecards"] == []
    assert not [
        m for m in second.messages if m["type"] == "ACTIVATE_VERSION"
    ]  # nothing read: nothing vanished
    assert second.state["bookmarks"]["clari_scorecards"]["last_full_read"] == stamp
    assert "clari_scorecards: last full read at" in caplog.text and "nothing read" in caplog.text

    third = run_tap({**config, "lookback_interval_hours": 0}, state=second.state, catalog=catalog)
    assert len(requests_to(small, "clari", "/scorecard")) == 3
    ids = third.ids("clari_scorecards")
    assert len(ids) == 254 and {s["id"] for s in late} <= set(ids)
    assert parse_iso(third.state["bookmarks"]["clari_scorecards"]["last_full_read"]) >= parse_iso(stamp)


def test_a_full_read_cut_short_by_the_request_budget_is_done_again_next_run(small):
    """max_requests_per_run stops the source: no last_full_read stamp, no version activated for a stream not
    read at all; the next run reads everything."""
    config = tap_config(small, "clari")
    catalog = selecting(config, {"clari_scorecards", "clari_topics"})
    cut = run_tap({**config, "max_requests_per_run": 2}, catalog=catalog)
    # clari_topics (one request) may be read in the background while clari_scorecards pages: either it took
    # one of the two requests, or scorecards took both and topics was not read at all.
    got = (len(cut.records["clari_scorecards"]), len(cut.records["clari_topics"]))
    assert got in {(100, 12), (200, 0)}, got
    assert "last_full_read" not in cut.state["bookmarks"].get("clari_scorecards", {})
    activated = {m["stream"] for m in cut.messages if m["type"] == "ACTIVATE_VERSION"}
    assert "clari_topics" not in activated or got[1] == 12  # never a version for a stream not read
    small.clear_log()
    again = run_tap(config, state=cut.state, catalog=catalog)
    assert len(again.records["clari_scorecards"]) == 250 and len(again.records["clari_topics"]) == 12
    assert again.state["bookmarks"]["clari_scorecards"]["last_full_read"]


@pytest.mark.parametrize(("hours_ago", "reads"), [(22.9, False), (23.1, True)])
def test_a_daily_pipeline_reads_every_day_even_when_started_a_little_earlier(small, hours_ago, reads):
    """Due once the last full read is lookback_interval_hours minus one hour old (23 h for the default 24)."""
    config = tap_config(small, "clari")
    state = {
        "bookmarks": {"clari_scorecards": {"last_full_read": iso(small.now - timedelta(hours=hours_ago))}}
    }
    run = run_tap(config, state=state, catalog=selecting(config, {"clari_scorecards"}))
    assert bool(requests_to(small, "clari", "/scorecard")) is reads
    assert len(run.records["clari_scorecards"]) == (250 if reads else 0)


def test_users_are_fetched_once_and_shared(small):
    """clari_users and clari_calls' speaker join read the same one GET /users (ClariDirectory)."""
    config = tap_config(small, "clari")
    tap = TapCalls(config=config, parse_env_config=False)
    stream = tap.streams["clari_users"]
    directory = stream.directory
    results: list = []
    workers = [threading.Thread(target=lambda: results.append(directory.users(stream))) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(requests_to(small, "clari", "/users")) == 1
    assert all(r is results[0] for r in results) and len(results) == 4
    assert directory.names(stream) == {u["id"]: u["name"] for u in small.clari.users}
    assert directory.names_or_none(stream) == directory.names(stream)
    run = run_tap(config, catalog=selecting(config, {"clari_users"}))
    assert len(run.records["clari_users"]) == len(small.clari.users)


def test_clari_calls_and_clari_users_share_one_users_request(small):
    config = tap_config(small, "clari", start_date=iso(small.now - timedelta(days=500)))
    run = run_tap(config, catalog=selecting(config, {"clari_calls", "clari_users"}))
    assert any(r.get("transcript") and r.get("users") for r in run.records["clari_calls"])
    assert len(run.records["clari_users"]) == len(small.clari.users)
    assert len(requests_to(small, "clari", "/users")) == 1


def test_a_failed_users_request_is_not_repeated(small, caplog):
    """clari_users fails with the request's one-line error; the speaker join gets None and one WARNING."""
    config = tap_config(small, "clari")
    tap = TapCalls(config=config, parse_env_config=False)
    stream = tap.streams["clari_users"]
    small.inject("clari", "status", path="/users", code=400, count=5)
    for _ in range(2):
        with pytest.raises(TapCallsError, match="/users: HTTP 400"):
            stream.directory.users(stream)
    with caplog.at_level("WARNING"):
        assert stream.directory.names_or_none(stream) is None
        assert stream.directory.names_or_none(stream) is None
    assert caplog.text.count("GET /users failed") == 1
    assert len(requests_to(small, "clari", "/users")) == 1


def test_sandbox_scorecard_endpoint_pages_like_clari(small):
    headers = {"X-Api-Key": small.CLARI_API_KEY, "X-Api-Password": small.CLARI_API_PASSWORD}

    def get(path: str, **params) -> requests.Response:
        return requests.get(small.clari_url + path, params=params, headers=headers, timeout=10)

    assert get("/scorecard", skip=10_001).status_code == 400
    assert get("/scorecard", limit=101).status_code == 400
    assert requests.get(small.clari_url + "/scorecard", timeout=10).status_code == 401
    first = get("/scorecard").json()
    assert len(first["scorecards"]) == 50
    assert first["pagination"] == {"matched": 250, "nextPageSkip": 50, "hasMore": True}
    last = get("/scorecard", skip=200, limit=100).json()
    assert last["pagination"] == {"matched": 250, "hasMore": False}
    index = small.clari_more.scorecard_index()
    middle = sorted(s.time for s in index)[125]
    later = get("/scorecard", filterTimeGt=iso(middle), limit=100).json()["pagination"]["matched"]
    assert later == sum(1 for s in index if s.time > middle.replace(microsecond=0))
    topics = small.clari_more.topics
    cut = sorted(t.modified for t in topics)[len(topics) // 2]
    stamp = cut.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+0000")
    newer = get("/v2/topics", filterModifiedGt=stamp).json()["topics"]
    assert [t["topic_id"] for t in newer] == [
        t.topic_id for t in topics if t.modified > cut.replace(microsecond=0)
    ]
