"""The nine Gong streams beyond calls, end to end over real HTTP against the sandbox, with its ground truth.

workspaces, scorecards, trackers, call_outcomes, library_folders, library_folder_calls (full table),
answered_scorecards (review-day windows), user_daily_activity and interaction_stats (activity days).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest

from calls_sandbox import Sandbox
from tap_calls.errors import RetryWaitTooLong
from tap_calls.gong_more import ANSWERED_WINDOW_DAYS
from tap_calls.tap import TapCalls
from tests.harness import (
    requests_to,
    run_tap,
    run_tap_until_stopped,
    sandbox_fixture,
    selecting,
    tap_config,
)

FULL_TABLE = (
    "workspaces",
    "scorecards",
    "trackers",
    "call_outcomes",
    "library_folders",
    "library_folder_calls",
)
DAY_STREAMS = ("answered_scorecards", "user_daily_activity", "interaction_stats")
FIELDS = {
    "workspaces": ["id", "name", "description"],
    "scorecards": [
        "scorecard_id",
        "scorecard_name",
        "workspace_id",
        "enabled",
        "updater_user_id",
        "created",
        "updated",
        "review_method",
        "questions",
    ],
    "answered_scorecards": [
        "answered_scorecard_id",
        "scorecard_id",
        "scorecard_name",
        "call_id",
        "call_start_time",
        "reviewed_user_id",
        "reviewer_user_id",
        "review_method",
        "editor_user_id",
        "review_time",
        "visibility_type",
        "answers",
    ],
    "trackers": [
        "tracker_id",
        "tracker_name",
        "workspace_id",
        "language_keywords",
        "affiliation",
        "part_of_question",
        "said_at",
        "said_at_interval",
        "said_at_unit",
        "said_in_topics",
        "filter_query",
        "created",
        "creator_user_id",
        "updated",
        "updater_user_id",
    ],
    "call_outcomes": [
        "call_outcome",
        "display_order",
        "connect_status",
        "sentiment",
        "todo_action",
        "automation",
        "category",
    ],
    "library_folders": ["id", "name", "parent_folder_id", "created_by", "updated", "workspace_id"],
    "library_folder_calls": [
        "folder_id",
        "call_id",
        "title",
        "note",
        "added_by",
        "created",
        "url",
        "snippet",
    ],
    "user_daily_activity": [
        "user_id",
        "user_email_address",
        "date",
        "calls_as_host",
        "calls_attended",
        "calls_gave_feedback",
        "calls_requested_feedback",
        "calls_received_feedback",
        "own_calls_listened_to",
        "others_calls_listened_to",
        "calls_shared_internally",
        "calls_shared_externally",
        "calls_scorecards_filled",
        "calls_scorecards_received",
        "calls_comments_given",
        "calls_comments_received",
        "calls_marked_as_feedback_given",
        "calls_marked_as_feedback_received",
    ],
    "interaction_stats": [
        "user_id",
        "user_email_address",
        "date",
        "longest_monologue",
        "longest_customer_story",
        "interactivity",
        "patience",
        "question_rate",
        "stats",
    ],
}
KEYS = {
    "workspaces": (["id"], None),
    "scorecards": (["scorecard_id"], None),
    "answered_scorecards": (["answered_scorecard_id"], "review_time"),
    "trackers": (["tracker_id"], None),
    "call_outcomes": (["call_outcome"], None),
    "library_folders": (["id"], None),
    "library_folder_calls": (["folder_id", "call_id", "created"], None),
    "user_daily_activity": (["user_id", "date"], "date"),
    "interaction_stats": (["user_id", "date"], "date"),
}
ID_FIELDS = {
    "workspaces": ["id"],
    "scorecards": ["scorecard_id", "workspace_id", "updater_user_id"],
    "answered_scorecards": [
        "answered_scorecard_id",
        "scorecard_id",
        "call_id",
        "reviewed_user_id",
        "reviewer_user_id",
        "editor_user_id",
    ],
    "trackers": ["tracker_id", "workspace_id", "creator_user_id", "updater_user_id"],
    "library_folders": ["id", "parent_folder_id", "created_by", "workspace_id"],
    "library_folder_calls": ["folder_id", "call_id", "added_by"],
    "user_daily_activity": ["user_id"],
    "interaction_stats": ["user_id"],
    "call_outcomes": [],
}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
STAT_COLUMNS = {
    "Longest Monologue": "longest_monologue",
    "Longest Customer Story": "longest_customer_story",
    "Interactivity": "interactivity",
    "Patience": "patience",
    "Question Rate": "question_rate",
}


# ------------------------------------------------------------------------------------------------ helpers
def noon_utc(days_back: int) -> str:
    """A start_date at 12:00 UTC: the same calendar day in UTC and in the sandbox's US/Pacific."""
    day = datetime.now(UTC).date() - timedelta(days=days_back)
    return f"{day.isoformat()}T12:00:00Z"


def run(sb: Sandbox, streams: tuple[str, ...] | list[str], state: dict | None = None, **settings):
    cfg = tap_config(sb, "gong", **settings)
    return run_tap(cfg, state, selecting(cfg, streams))


def walk_keys(value, where: str = "") -> list[str]:
    """Every dict key at every depth (with where it was found), to check snake_case."""
    out = []
    if isinstance(value, dict):
        for key, inner in value.items():
            out.append(f"{where}.{key}")
            out += walk_keys(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for inner in value:
            out += walk_keys(inner, where)
    return out


def check_records(result, stream: str, extra_ok: frozenset = frozenset()) -> list[dict]:
    """The contract for every record of a stream: keys, schema validity, snake_case, unique keys, string ids."""
    records = result.records[stream]
    schema = result.schemas[stream]
    keys, _ = KEYS[stream]
    assert records, f"{stream}: no records"
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    pks = [tuple(r[k] for k in keys) for r in records]
    assert len(pks) == len(set(pks)), f"{stream}: repeated primary keys"
    for record in records:
        assert set(FIELDS[stream]) <= set(record), (stream, set(FIELDS[stream]) - set(record))
        assert set(record) - set(FIELDS[stream]) <= extra_ok, (stream, set(record) - set(FIELDS[stream]))
        validator.validate(record)
        bad = [k for k in walk_keys(record) if not SNAKE.match(k.rsplit(".", 1)[-1])]
        assert not bad, (stream, bad)
        for field in ID_FIELDS[stream]:
            assert record[field] is None or isinstance(record[field], str), (stream, field, record[field])
        for key in keys:
            assert isinstance(record[key], str | int) and record[key] is not None
    return records


def by(records: list[dict], *keys: str) -> dict:
    return {(r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)): r for r in records}


def days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)]


# ------------------------------------------------------------------------------------------ full tables
# Three workspaces: the third has no library folders (Gong answers that with a 404).
sandbox = sandbox_fixture(seed=11, gong_calls=1500, gong_span_days=90, gong_workspaces=3, clari_calls=0)


@pytest.fixture(scope="module")
def full_tables(sandbox):
    sandbox.clear_log()
    result = run(sandbox, FULL_TABLE, start_date=noon_utc(5))
    return result, list(sandbox.log)


def test_discovery_has_the_contract_keys_for_the_new_streams(sandbox):
    cat = TapCalls(config=tap_config(sandbox, "gong"), parse_env_config=False).catalog_dict
    entries = {e["tap_stream_id"]: e for e in cat["streams"]}
    for name, (keys, replication_key) in KEYS.items():
        assert list(entries[name]["key_properties"]) == keys, name
        assert entries[name].get("replication_key") == replication_key, name
        assert set(FIELDS[name]) <= set(entries[name]["schema"]["properties"]), name
    for name in ("user_daily_activity", "interaction_stats"):
        assert entries[name]["schema"]["properties"]["date"]["format"] == "date"


def test_full_table_streams_equal_the_sandbox(sandbox, full_tables):
    result, _ = full_tables
    more = sandbox.gong_more
    for stream in FULL_TABLE:
        check_records(result, stream)

    assert sorted(result.ids("workspaces")) == sorted(w["id"] for w in sandbox.gong.workspaces)
    assert (
        by(result.records["workspaces"], "id")[sandbox.gong.workspaces[0]["id"]]["name"]
        == "Initial workspace"
    )

    scorecards = by(result.records["scorecards"], "scorecard_id")
    assert sorted(scorecards) == sorted(s["scorecard_id"] for s in map(_snake_card, more.scorecards))
    for served in more.scorecards:
        record = scorecards[served["scorecardId"]]
        assert record["workspace_id"] == served["workspaceId"]
        assert record["review_method"] == served["reviewMethod"]
        assert record["updater_user_id"] == served["updaterUserId"]
        assert [q["question_id"] for q in record["questions"]] == [
            q["questionId"] for q in served["questions"]
        ]
        for question, raw in zip(record["questions"], served["questions"], strict=True):
            # Gong sends "1"/"5": integers here; answer option ids (integers in Gong's spec) become strings.
            assert question["min_range"] == (None if raw["minRange"] is None else int(raw["minRange"]))
            assert question["max_range"] == (None if raw["maxRange"] is None else int(raw["maxRange"]))
            assert question["answer_options"] == (
                None
                if raw["answerOptions"] is None
                else [{"id": str(o["id"]), "text": o["text"]} for o in raw["answerOptions"]]
            )
    assert any(q["min_range"] == 1 for r in scorecards.values() for q in r["questions"])
    assert any(r["updater_user_id"] == "-1" for r in scorecards.values())

    trackers = by(result.records["trackers"], "tracker_id")
    assert sorted(trackers) == sorted(t["trackerId"] for t in more.trackers)
    for served in more.trackers:
        record = trackers[served["trackerId"]]
        assert record["filter_query"] == served["filterQuery"]  # the string Gong sends
        assert record["creator_user_id"] == served["creatorUserId"]
        assert record["language_keywords"] == [
            {
                "language": k["language"],
                "keywords": k["keywords"],
                "include_related_forms": k["includeRelatedForms"],
            }
            for k in served["languageKeywords"]
        ]

    outcomes = by(result.records["call_outcomes"], "call_outcome")
    assert sorted(outcomes) == sorted(o["callOutcome"] for o in more.call_outcomes)
    for served in more.call_outcomes:
        record = outcomes[served["callOutcome"]]
        assert record["display_order"] == served["displayOrder"]
        assert record["automation"] == served.get("automation")  # omitted by Gong: null here
    assert any("automation" not in o for o in more.call_outcomes)

    folders = by(result.records["library_folders"], "id")
    assert sorted(folders) == sorted(f["id"] for f in more.folders)
    for served in more.folders:
        record = folders[served["id"]]
        assert record["workspace_id"] == served["_workspace"]
        assert record["parent_folder_id"] == served["parentFolderId"]
        assert record["name"] == served["name"]

    expected_items = sorted(
        (f["id"], c["id"], c["created"]) for f in more.folders for c in more.folder_content(f["id"])["calls"]
    )
    assert sorted(result.ids("library_folder_calls", "folder_id", "call_id", "created")) == expected_items
    items = by(result.records["library_folder_calls"], "folder_id", "call_id", "created")
    for folder in more.folders:
        for served in more.folder_content(folder["id"])["calls"]:
            record = items[(folder["id"], served["id"], served["created"])]
            assert record["snippet"] == {
                "from_sec": served["snippet"]["fromSec"],
                "to_sec": served["snippet"]["toSec"],
            }
            assert record["note"] == served.get("note")
            assert record["added_by"] == served["addedBy"]


def _snake_card(card: dict) -> dict:
    return {"scorecard_id": card["scorecardId"]}


def test_a_call_filed_twice_in_a_folder_arrives_as_both_snippets_and_an_empty_folder_is_no_error(
    sandbox, full_tables
):
    result, _ = full_tables
    more = sandbox.gong_more
    win_loss = next(f for f in more.folders if f["name"] == "Win/Loss")
    served = more.folder_content(win_loss["id"])["calls"]
    repeated = [cid for cid, n in Counter(c["id"] for c in served).items() if n > 1]
    assert repeated, "the sandbox files one call twice in Win/Loss"
    twice = [
        r
        for r in result.records["library_folder_calls"]
        if (r["folder_id"], r["call_id"]) == (win_loss["id"], repeated[0])
    ]
    assert len(twice) == 2
    assert len({r["created"] for r in twice}) == 2
    assert len({(r["snippet"]["from_sec"], r["snippet"]["to_sec"]) for r in twice}) == 2
    empty = next(f for f in more.folders if f["name"] == "Onboarding")
    assert more.folder_content(empty["id"])["calls"] == []
    assert empty["id"] in result.ids("library_folders")
    assert not [r for r in result.records["library_folder_calls"] if r["folder_id"] == empty["id"]]


def test_full_table_streams_cost_one_request_each_and_one_per_workspace_and_folder(sandbox, full_tables):
    result, log = full_tables
    counts = Counter((r.path, r.status) for r in log if r.source == "gong")
    workspaces = sandbox.gong.workspaces
    folders = sandbox.gong_more.folders
    assert counts[("/v2/workspaces", 200)] == 1  # read once, for workspaces and for listing folders
    assert counts[("/v2/settings/scorecards", 200)] == 1
    assert counts[("/v2/settings/trackers", 200)] == 1
    assert counts[("/v2/call-outcomes", 200)] == 1
    # One listing per workspace; the third workspace has no folders: Gong's 404 is an empty listing.
    listed = requests_to(log, "gong", "/v2/library/folders")
    assert sorted(r.query["workspaceId"][0] for r in listed) == sorted(w["id"] for w in workspaces)
    assert counts[("/v2/library/folders", 404)] == 1
    content = requests_to(log, "gong", "/v2/library/folder-content")
    assert sorted(r.query["folderId"][0] for r in content) == sorted(f["id"] for f in folders)
    assert sum(counts.values()) == 4 + len(workspaces) + len(folders)
    # Full-table streams let targets drop vanished rows: one ACTIVATE_VERSION each, after all their records,
    # which carry that version.
    activations = [m for m in result.messages if m["type"] == "ACTIVATE_VERSION"]
    assert sorted(m["stream"] for m in activations) == sorted(FULL_TABLE)
    for activation in activations:
        position = result.messages.index(activation)
        records = [
            (i, m)
            for i, m in enumerate(result.messages)
            if m["type"] == "RECORD" and m["stream"] == activation["stream"]
        ]
        assert records and all(i < position and m["version"] == activation["version"] for i, m in records)
    # Start and end dates do not apply; no bookmark is kept.
    for stream in FULL_TABLE:
        assert not result.state["bookmarks"].get(stream, {}).get("replication_key_value")


def test_library_folder_calls_are_read_in_full_at_most_once_per_lookback_interval(sandbox, full_tables):
    first, _ = full_tables
    stamp = first.state["bookmarks"]["library_folder_calls"]["last_full_read"]
    assert stamp
    sandbox.clear_log()
    second = run(sandbox, ("library_folder_calls", "trackers"), state=first.state)
    assert not requests_to(sandbox, "gong", "/v2/library/folder-content")
    assert not second.records["library_folder_calls"] and second.records["trackers"]
    # A run that reads nothing must not activate a new version (targets would drop every row).
    assert [m["stream"] for m in second.messages if m["type"] == "ACTIVATE_VERSION"] == ["trackers"]
    assert second.state["bookmarks"]["library_folder_calls"]["last_full_read"] == stamp
    sandbox.clear_log()
    third = run(sandbox, ("library_folder_calls",), state=first.state, lookback_interval_hours=0)
    assert len(requests_to(sandbox, "gong", "/v2/library/folder-content")) == len(sandbox.gong_more.folders)
    assert len(third.records["library_folder_calls"]) == len(first.records["library_folder_calls"])


def test_workspace_id_filters_trackers_folders_and_scorecards(sandbox):
    workspace = sandbox.gong.workspaces[1]["id"]
    sandbox.clear_log()
    result = run(sandbox, FULL_TABLE[1:], workspace_id=workspace)
    log = list(sandbox.log)
    more = sandbox.gong_more
    assert sorted(result.ids("trackers", "tracker_id")) == sorted(
        t["trackerId"] for t in more.trackers if t["workspaceId"] == workspace
    )
    assert sorted(result.ids("scorecards", "scorecard_id")) == sorted(
        s["scorecardId"] for s in more.scorecards if s["workspaceId"] == workspace
    )
    mine = [f for f in more.folders if f["_workspace"] == workspace]
    assert sorted(result.ids("library_folders")) == sorted(f["id"] for f in mine)
    assert {r["workspace_id"] for r in result.records["library_folders"]} == {workspace}
    assert {r["folder_id"] for r in result.records["library_folder_calls"]} <= {f["id"] for f in mine}
    for path in ("/v2/settings/trackers", "/v2/library/folders"):
        assert [r.query.get("workspaceId") for r in requests_to(log, "gong", path)] == [[workspace]], path
    assert not requests_to(log, "gong", "/v2/workspaces")  # no workspace list needed
    assert len(requests_to(log, "gong", "/v2/library/folder-content")) == len(mine)


def test_without_the_workspaces_scope_folders_are_listed_once_without_a_workspace():
    with Sandbox(seed=5, gong_calls=200, clari_calls=0, gong_missing_scopes={"api:workspaces:read"}) as sb:
        result = run(sb, ("library_folders", "library_folder_calls"))
        log = list(sb.log)
    listed = requests_to(log, "gong", "/v2/library/folders")
    assert len(listed) == 1 and "workspaceId" not in listed[0].query
    assert sorted(result.ids("library_folders")) == sorted(f["id"] for f in sb.gong_more.folders)
    assert {r["workspace_id"] for r in result.records["library_folders"]} == {None}
    assert len(requests_to(log, "gong", "/v2/library/folder-content")) == len(sb.gong_more.folders)
    assert len(result.records["library_folder_calls"]) == sum(
        len(sb.gong_more.folder_content(f["id"])["calls"]) for f in sb.gong_more.folders
    )


# ------------------------------------------------------------------------------------- answered scorecards
def review_bodies(log: list) -> list[dict]:
    return [r.body["filter"] for r in requests_to(log, "gong", "/v2/stats/activity/scorecards")]


def start_with_a_paged_window(more) -> str:
    """A start_date 60 days back whose first review window holds more than a Gong page (100) whatever day the
    test runs on: the sandbox's reviews follow its calls (about 100 in 30 days), so the window is topped up
    with reviews published late, spread over its days (ground truth includes them)."""
    back = 60
    first = datetime.now(UTC).date() - timedelta(days=back)
    end = first + timedelta(days=ANSWERED_WINDOW_DAYS - 1)
    held = len(more.expected_answered(first, end))
    for n in range(max(0, 130 - held)):
        day = first + timedelta(days=n % (ANSWERED_WINDOW_DAYS - 1))
        more.add_review(datetime(day.year, day.month, day.day, 9 + n % 8, tzinfo=more.tz))
    assert len(more.expected_answered(first, end)) > 100
    return noon_utc(back)


def test_answered_scorecards_are_every_review_manual_and_automatic(sandbox):
    start = start_with_a_paged_window(sandbox.gong_more)
    sandbox.clear_log()
    sandbox.gong_more.unknown_fields = True  # automatic reviews carry a field Gong added later
    try:
        result = run(sandbox, ("answered_scorecards",), start_date=start)
    finally:
        sandbox.gong_more.unknown_fields = False
    log = list(sandbox.log)
    records = check_records(result, "answered_scorecards", extra_ok=frozenset({"ai_confidence"}))
    more = sandbox.gong_more
    expected = more.expected_answered(date.fromisoformat(start[:10]))
    assert len(expected) > 100  # more than one page
    assert sorted(result.ids("answered_scorecards", "answered_scorecard_id")) == sorted(
        r["answeredScorecardId"] for r in expected
    )
    # Gong's default leaves automatic reviews out: they are here, reviewer null.
    automatic = [r for r in records if r["review_method"] == "AUTOMATIC"]
    assert automatic and all(r["reviewer_user_id"] is None for r in automatic)
    assert all(r["ai_confidence"] == 0.9 for r in automatic)  # a field Gong added passes through
    assert len(more.expected_answered(date.fromisoformat(start[:10]), method="MANUAL")) < len(expected)
    served = {r["answeredScorecardId"]: r for r in expected}
    for record in records:
        raw = served[record["answered_scorecard_id"]]
        assert record["call_id"] == raw["callId"]
        assert record["review_time"] == raw["reviewTime"]
        assert record["reviewed_user_id"] == raw["reviewedUserId"]
        assert record["editor_user_id"] == raw.get("editorUserId")
        assert [a["question_id"] for a in record["answers"]] == [a["questionId"] for a in raw["answers"]]
        assert [a["selected_options"] for a in record["answers"]] == [
            a["selectedOptions"] for a in raw["answers"]
        ]
        assert [a["score"] for a in record["answers"]] == [a["score"] for a in raw["answers"]]
    assert any("editorUserId" not in r for r in expected)
    # Windows: bare dates, to exclusive and never equal to from, BOTH methods, the cursor in the body.
    bodies = review_bodies(log)
    assert len(bodies) >= 2
    for body in bodies:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["reviewFromDate"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["reviewToDate"])
        assert body["reviewFromDate"] < body["reviewToDate"]
        assert body["reviewMethod"] == "BOTH"
    assert min(b["reviewFromDate"] for b in bodies) == start[:10]
    # Each window is read to its end, 100 reviews a page, the cursor in the body.
    sent = [r.body for r in requests_to(log, "gong", "/v2/stats/activity/scorecards")]
    windows = Counter((b["filter"]["reviewFromDate"], b["filter"]["reviewToDate"]) for b in sent)
    for (first, end), pages in windows.items():
        held = len(more.expected_answered(date.fromisoformat(first), date.fromisoformat(end)))
        assert pages == max(1, math.ceil(held / 100)), (first, end, held, pages)
    assert any(b.get("cursor") for b in sent), "no window of more than 100 reviews was paged"
    # The bookmark: the last completed day, never later than the company's yesterday.
    bookmark = result.state["bookmarks"]["answered_scorecards"]
    assert bookmark["replication_key"] == "review_time"
    assert date.fromisoformat(bookmark["replication_key_value"]) <= more.today() - timedelta(days=1)
    assert date.fromisoformat(bookmark["replication_key_value"]) >= more.today() - timedelta(days=2)


def test_a_late_review_inside_the_lookback_arrives_on_the_next_run():
    with Sandbox(seed=12, gong_calls=400, gong_span_days=90, clari_calls=0) as sb:
        more = sb.gong_more
        first = run(
            sb, ("answered_scorecards",), start_date=noon_utc(60), lookback_days=2, lookback_interval_hours=0
        )
        bookmark = date.fromisoformat(
            first.state["bookmarks"]["answered_scorecards"]["replication_key_value"]
        )
        # Published now, reviewed (by Gong's clock) on the bookmark's day and yesterday: both in the look-back.
        on_bookmark = datetime(bookmark.year, bookmark.month, bookmark.day, 15, tzinfo=more.tz)
        late = [
            more.add_review(on_bookmark),
            more.add_review(datetime.now(UTC) - timedelta(minutes=5), method="AUTOMATIC"),
        ]
        assert not {r["answeredScorecardId"] for r in late} & set(
            first.ids("answered_scorecards", "answered_scorecard_id")
        )
        sb.clear_log()
        second = run(
            sb,
            ("answered_scorecards",),
            state=first.state,
            start_date=noon_utc(60),
            lookback_days=2,
            lookback_interval_hours=0,
        )
        log = list(sb.log)
        # Between full look-backs (the default interval is 24 h) a run re-reads from the bookmark's day - 1.
        sb.clear_log()
        run(sb, ("answered_scorecards",), state=second.state, start_date=noon_utc(60), lookback_days=2)
        between = review_bodies(list(sb.log))
    got = set(second.ids("answered_scorecards", "answered_scorecard_id"))
    assert {r["answeredScorecardId"] for r in late} <= got
    bodies = review_bodies(log)
    earliest = min(date.fromisoformat(b["reviewFromDate"]) for b in bodies)
    # The look-back plus one day of time-zone slack, and nothing older.
    assert earliest >= bookmark - timedelta(days=2 + 2)
    assert earliest == bookmark - timedelta(days=2 + 1)
    assert all(b["reviewMethod"] == "BOTH" for b in bodies)
    # Everything re-read inside the look-back is what Gong holds there.
    expected = more.expected_answered(earliest)
    assert got == {r["answeredScorecardId"] for r in expected}
    bookmark = date.fromisoformat(second.state["bookmarks"]["answered_scorecards"]["replication_key_value"])
    assert min(b["reviewFromDate"] for b in between) == (bookmark - timedelta(days=1)).isoformat()


# ------------------------------------------------------------------------------------------------ stats
@pytest.fixture(scope="module")
def stats_run(sandbox):
    sandbox.clear_log()
    start = noon_utc(21)
    result = run(sandbox, ("user_daily_activity", "interaction_stats"), start_date=start)
    return result, list(sandbox.log), date.fromisoformat(start[:10])


def test_interaction_stats_are_each_days_own_aggregates(sandbox, stats_run):
    result, log, first = stats_run
    more = sandbox.gong_more
    today = more.today()
    records = check_records(result, "interaction_stats")
    expected = more.expected_interaction_stats(first, today)
    assert len(expected) > 40
    got = by(records, "user_id", "date")
    assert sorted(got) == sorted(expected)
    for key, stats in expected.items():
        record = got[key]
        assert record["stats"] == stats
        for stat in stats:
            assert record[STAT_COLUMNS[stat["name"]]] == stat["value"]
        assert record["user_email_address"] == more._emails[key[0]]
    # One day per request (Gong aggregates over the range: a week differs from its days).
    requests = requests_to(log, "gong", "/v2/stats/interaction")
    asked = sorted(date.fromisoformat(r.body["filter"]["fromDate"]) for r in requests)
    assert asked == days(first, today)
    for r in requests:
        span = date.fromisoformat(r.body["filter"]["toDate"]) - date.fromisoformat(
            r.body["filter"]["fromDate"]
        )
        assert span == timedelta(days=1)
    week = more.interaction(first, first + timedelta(days=7))
    assert any(
        week[user] != expected.get((user, d.isoformat()))
        for user in week
        for d in days(first, first + timedelta(days=7))
        if (user, d.isoformat()) in expected
    )
    bookmark = result.state["bookmarks"]["interaction_stats"]
    assert bookmark["replication_key"] == "date"
    assert bookmark["replication_key_value"] == (today - timedelta(days=1)).isoformat()
    assert bookmark["full_lookback_at"]  # a backfill counts as a full look-back


def test_user_daily_activity_has_a_row_per_user_and_active_day(sandbox, stats_run):
    result, _, first = stats_run
    more = sandbox.gong_more
    today = more.today()
    records = check_records(result, "user_daily_activity")
    expected = more.expected_daily_activity(first, today)
    got = by(records, "user_id", "date")
    assert sorted(got) == sorted(expected)
    snake = {a: re.sub(r"(?<!^)(?=[A-Z])", "_", a).lower() for a in next(iter(expected.values()))}
    for key, activities in expected.items():
        for name, ids in activities.items():
            assert got[key][snake[name]] == ids, (key, name)
        assert any(got[key][column] for column in snake.values())
    # Gong lists idle days of active users too (all arrays empty): those are not rows.
    served_days = sum(len(days(first, today)) for _ in {u for u, _ in expected})
    assert len(records) < served_days
    assert (
        result.state["bookmarks"]["user_daily_activity"]["replication_key_value"]
        == (today - timedelta(days=1)).isoformat()
    )


def test_no_stats_request_asks_past_the_companys_current_day(sandbox, stats_run):
    _, log, _ = stats_run
    today = sandbox.gong_more.today()
    interaction = requests_to(log, "gong", "/v2/stats/interaction")
    day_by_day = requests_to(log, "gong", "/v2/stats/activity/day-by-day")
    stats = interaction + day_by_day
    assert stats
    assert all(date.fromisoformat(r.body["filter"]["toDate"]) <= today for r in stats)
    assert not [r for r in stats if r.status == 400]
    # Day-by-day nests days per user: a few multi-day requests, not one per day.
    windows = {(r.body["filter"]["fromDate"], r.body["filter"]["toDate"]) for r in day_by_day}
    assert len(windows) < len(interaction)


def test_stats_later_runs_reread_the_lookback_and_take_revised_days():
    with Sandbox(seed=13, gong_calls=500, gong_span_days=60, clari_calls=0) as sb:
        more = sb.gong_more
        start = noon_utc(15)
        streams = ("user_daily_activity", "interaction_stats")
        first = run(sb, streams, start_date=start, lookback_days=3, lookback_interval_hours=0)
        yesterday = more.today() - timedelta(days=1)
        assert first.state["bookmarks"]["interaction_stats"]["replication_key_value"] == yesterday.isoformat()
        # Gong revises a day's figures while it processes the day's calls.
        revised_day = yesterday - timedelta(days=2)
        before = more.expected_interaction_stats(revised_day, revised_day + timedelta(days=1))
        more.revise_day(revised_day)
        after = more.expected_interaction_stats(revised_day, revised_day + timedelta(days=1))
        assert before != after
        sb.clear_log()
        second = run(
            sb, streams, state=first.state, start_date=start, lookback_days=3, lookback_interval_hours=0
        )
        log = list(sb.log)
        activity = more.expected_daily_activity(yesterday - timedelta(days=3), more.today())
    got = by(second.records["interaction_stats"], "user_id", "date")
    for key, stats in after.items():
        assert got[key]["stats"] == stats
    asked = sorted(r.body["filter"]["fromDate"] for r in requests_to(log, "gong", "/v2/stats/interaction"))
    assert asked == [d.isoformat() for d in days(yesterday - timedelta(days=3), more.today())]
    earliest = min(
        r.body["filter"]["fromDate"] for r in requests_to(log, "gong", "/v2/stats/activity/day-by-day")
    )
    assert earliest == (yesterday - timedelta(days=3)).isoformat()
    assert sorted(by(second.records["user_daily_activity"], "user_id", "date")) == sorted(activity)


def test_empty_stats_days_are_completed_days():
    """Gong's 404 "No stats found for the specified period" is a day without data, not an error."""
    with Sandbox(seed=15, gong_calls=25, gong_span_days=60, clari_calls=0) as sb:
        more = sb.gong_more
        start = noon_utc(20)
        first = date.fromisoformat(start[:10])
        result = run(sb, ("interaction_stats", "user_daily_activity"), start_date=start)
        log = list(sb.log)
    today = more.today()
    empty = [r for r in requests_to(log, "gong", "/v2/stats/interaction") if r.status == 404]
    assert empty and len(empty) < len(days(first, today))
    assert sorted(by(result.records["interaction_stats"], "user_id", "date")) == sorted(
        more.expected_interaction_stats(first, today)
    )
    assert sorted(by(result.records["user_daily_activity"], "user_id", "date")) == sorted(
        more.expected_daily_activity(first, today)
    )
    yesterday = (today - timedelta(days=1)).isoformat()
    assert result.state["bookmarks"]["interaction_stats"]["replication_key_value"] == yesterday
    assert result.state["bookmarks"]["user_daily_activity"]["replication_key_value"] == yesterday


# ------------------------------------------------------------------------------------------- permissions
def test_missing_scopes_skip_streams(caplog):
    """A key without two scopes: those streams are skipped with one WARNING each; the rest complete.

    (The request layer's permission rule, interface.md "Permissions"; the sandbox denies per endpoint.)
    """
    missing = {"api:stats:scorecards", "api:library:read"}
    with Sandbox(
        seed=14, gong_calls=150, gong_span_days=30, clari_calls=0, gong_missing_scopes=missing
    ) as sb:
        streams = ("calls", "users", "workspaces", "answered_scorecards", "library_folders", "trackers")
        with caplog.at_level(logging.WARNING):
            result = run(sb, streams, start_date=noon_utc(10))
    assert result.records["calls"] and result.records["users"] and result.records["trackers"]
    assert result.records["workspaces"]
    assert not result.records["answered_scorecards"] and not result.records["library_folders"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for stream, scope in (
        ("answered_scorecards", "api:stats:scorecards"),
        ("library_folders", "api:library:read"),
    ):
        naming = [w for w in warnings if stream in w and scope in w]
        assert len(naming) == 1, (stream, warnings)


# ------------------------------------------------------------------------------- progress across stops
def run_until_stopped(sb: Sandbox, streams: tuple[str, ...], state: dict | None = None, **settings):
    """A Gong run of `streams` that may end with an error (harness.run_tap_until_stopped)."""
    cfg = tap_config(sb, "gong", **settings)
    return run_tap_until_stopped(cfg, state, selecting(cfg, streams))


def covered(state: dict, stream: str, first: date) -> set[date]:
    """The days from `first` a STATE says were emitted: up to the bookmark, and the finished days past it."""
    bookmark = state["bookmarks"].get(stream, {})
    out = set()
    if bookmark.get("replication_key_value"):
        out |= set(days(first, date.fromisoformat(bookmark["replication_key_value"]) + timedelta(days=1)))
    for start, end in bookmark.get("finished_windows") or ():
        out |= set(days(date.fromisoformat(start), date.fromisoformat(end)))
    return out


def asked_days(log: list, path: str) -> list[date]:
    """Every day the requests to `path` asked for (a window's days once per request), sorted."""
    out = []
    for r in requests_to(log, "gong", path):
        out += days(
            date.fromisoformat(r.body["filter"]["fromDate"]), date.fromisoformat(r.body["filter"]["toDate"])
        )
    return sorted(out)


def assert_no_state_ahead_of_its_records(run, stream: str, first: date, expected: dict) -> None:
    """Every STATE claims only days whose every record (ground truth) came before it."""
    emitted: set = set()
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == stream:
            emitted.add((message["record"]["user_id"], message["record"]["date"]))
        elif message["type"] == "STATE":
            for day in covered(message["value"], stream, first):
                missing = {k for k in expected if k[1] == day.isoformat()} - emitted
                assert not missing, (day, missing)


def test_a_day_stream_stopped_by_a_quota_keeps_the_days_finished_past_an_unfinished_one():
    """Gong answers one day's request with a 429 and `Retry-After: 3600` (late, after the other days were
    answered): the run stops, and its last STATE keeps the days before that day (the bookmark) and after it
    (`finished_windows`); the next run asks only for that day and the bookmark's (the look-back of 0 days)."""
    path = "/v2/stats/interaction"
    with Sandbox(seed=16, gong_calls=300, gong_span_days=60, gong_users=20, clari_calls=0) as sb:
        more = sb.gong_more
        start = noon_utc(16)
        first = date.fromisoformat(start[:10])
        stuck = first + timedelta(days=4)
        sb.inject(
            "gong", "429", path=path, retry_after=3600, delay=2, body_filter={"fromDate": stuck.isoformat()}
        )
        settings = {"start_date": start, "lookback_days": 0, "max_retry_wait_seconds": 60}
        stopped, error = run_until_stopped(sb, ("interaction_stats",), **settings)
        log1 = list(sb.log)
        sb.clear_log()
        resumed, again = run_until_stopped(sb, ("interaction_stats",), state=stopped.state, **settings)
        log2 = list(sb.log)
        today = more.today()
        expected = more.expected_interaction_stats(first, today)
    assert isinstance(error, RetryWaitTooLong) and again is None
    answered = sorted(
        date.fromisoformat(r.body["filter"]["fromDate"])
        for r in requests_to(log1, "gong", path)
        if r.status != 429
    )
    assert stuck not in answered and stuck + timedelta(days=1) in answered
    # The last STATE: the bookmark on the day before the stuck one, every day answered after it kept.
    bookmark = stopped.state["bookmarks"]["interaction_stats"]
    assert bookmark["replication_key_value"] == (stuck - timedelta(days=1)).isoformat()
    assert bookmark["finished_windows"] == [
        [(stuck + timedelta(days=1)).isoformat(), (answered[-1] + timedelta(days=1)).isoformat()]
    ]
    assert bookmark["finished_for"] == ["interaction_stats"]
    assert covered(stopped.state, "interaction_stats", first) == set(answered)
    assert_no_state_ahead_of_its_records(stopped, "interaction_stats", first, expected)
    # The next run: the bookmark's day (a look-back of 0 days re-reads it), the stuck day, and any day the
    # stopped run had not reached yet (today in the company's zone, when UTC-12 was still a day behind).
    unread = set(days(first, today)) - set(answered)
    assert asked_days(log2, path) == sorted(unread | {stuck - timedelta(days=1)})
    final = resumed.state["bookmarks"]["interaction_stats"]
    assert final["replication_key_value"] == (today - timedelta(days=1)).isoformat()
    assert final["finished_windows"] == [] and final["full_lookback_at"]
    # Every record exactly as Gong holds it, none lost across the stop.
    got = by(stopped.records["interaction_stats"] + resumed.records["interaction_stats"], "user_id", "date")
    assert sorted(got) == sorted(expected)
    assert all(got[key]["stats"] == stats for key, stats in expected.items())


def test_a_day_stream_stopped_by_the_request_budget_keeps_what_it_read():
    """`max_requests_per_run` stops `user_daily_activity` (weekly windows) after a few windows: its last STATE
    covers exactly the days those requests answered, and the next run asks for the rest only."""
    path = "/v2/stats/activity/day-by-day"
    with Sandbox(seed=17, gong_calls=300, gong_span_days=60, gong_users=20, clari_calls=0) as sb:
        more = sb.gong_more
        start = noon_utc(45)
        first = date.fromisoformat(start[:10])
        stopped = run(sb, ("user_daily_activity",), start_date=start, lookback_days=0, max_requests_per_run=3)
        log1 = list(sb.log)
        sb.clear_log()
        resumed = run(sb, ("user_daily_activity",), state=stopped.state, start_date=start, lookback_days=0)
        log2 = list(sb.log)
        today = more.today()
        expected = more.expected_daily_activity(first, today)
    assert len(requests_to(log1, "gong")) == 3
    read = asked_days(log1, path)
    assert read and len(read) == len(set(read)) and read[0] == first
    assert covered(stopped.state, "user_daily_activity", first) == set(read)
    assert_no_state_ahead_of_its_records(stopped, "user_daily_activity", first, expected)
    bookmark = date.fromisoformat(stopped.state["bookmarks"]["user_daily_activity"]["replication_key_value"])
    # The rest, and the bookmark's day again (the look-back of 0 days); no day twice.
    assert asked_days(log2, path) == sorted((set(days(first, today)) - set(read)) | {bookmark})
    got = by(
        stopped.records["user_daily_activity"] + resumed.records["user_daily_activity"], "user_id", "date"
    )
    assert sorted(got) == sorted(expected)
    snake = {a: re.sub(r"(?<!^)(?=[A-Z])", "_", a).lower() for a in next(iter(expected.values()))}
    for key, activities in expected.items():
        assert all(got[key][snake[name]] == ids for name, ids in activities.items()), key
