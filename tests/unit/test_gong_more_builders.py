"""Pure record builders and day windows of the Gong streams beyond calls (no HTTP)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tap_calls import gong_more as gm
from tap_calls.bookmarks import FinishedDays, full_read_due
from tap_calls.schemas import gong_more as schemas
from tap_calls.tap import TapCalls


def fields(schema) -> set[str]:
    return set(schema.to_dict()["properties"])


def test_ids_become_strings_ranges_integers_and_omitted_fields_null():
    raw = {
        "scorecardId": 6617040866921841803,  # as Gong's spec types it
        "scorecardName": "Discovery",
        "workspaceId": "7273476131570014205",
        "enabled": True,
        "updaterUserId": "-1",
        "questions": [
            {
                "questionId": 9013292953945730400,
                "questionRevisionId": "1",
                "questionType": "RANGE",
                "minRange": "1",
                "maxRange": "5",
                "answerOptions": [],
            },
            {
                "questionId": "2",
                "questionType": "SINGLE_SELECT",
                "answerOptions": [{"id": 17, "text": "Yes"}],
            },
        ],
        "newFieldFromGong": {"innerName": 1},
    }
    record = gm.scorecard_record(raw)
    assert record["scorecard_id"] == "6617040866921841803"
    assert record["updater_user_id"] == "-1"
    assert record["created"] is None and record["review_method"] is None  # omitted by Gong
    first, second = record["questions"]
    assert first["question_id"] == "9013292953945730400"
    assert (first["min_range"], first["max_range"]) == (1, 5)
    assert first["answer_options"] == []
    assert first["answer_guide"] is None and first["created"] is None
    assert second["min_range"] is None and second["answer_options"] == [{"id": "17", "text": "Yes"}]
    assert record["new_field_from_gong"] == {"inner_name": 1}  # passes through, snake_case at depth
    assert fields(schemas.SCORECARD) <= set(record)


def test_answered_scorecard_record():
    raw = {
        "answeredScorecardId": 7572903405772665558,
        "scorecardId": "6617040866921841803",
        "callId": 8436689824891728485,
        "reviewedUserId": "1",
        "reviewerUserId": None,
        "reviewMethod": "AUTOMATIC",
        "reviewTime": "2026-09-02T10:00:00-07:00",
        "answers": [
            {"questionId": 5, "isOverall": True, "score": 4, "notApplicable": False},
            {"questionId": "6", "selectedOptions": [123, "456"]},
        ],
    }
    record = gm.answered_scorecard_record(raw)
    assert record["answered_scorecard_id"] == "7572903405772665558"
    assert record["call_id"] == "8436689824891728485"
    assert record["reviewer_user_id"] is None and record["editor_user_id"] is None
    assert record["visibility_type"] is None
    assert record["answers"][0]["question_id"] == "5"
    assert record["answers"][0]["answer_text"] is None and record["answers"][0]["selected_options"] is None
    assert record["answers"][1]["selected_options"] == ["123", "456"]
    assert fields(schemas.ANSWERED_SCORECARD) <= set(record)


def test_tracker_outcome_workspace_and_library_records():
    tracker = gm.tracker_record(
        {"trackerId": 3, "workspaceId": 4, "saidAtInterval": "5", "filterQuery": "{}", "creatorUserId": None}
    )
    assert (tracker["tracker_id"], tracker["workspace_id"], tracker["said_at_interval"]) == ("3", "4", 5)
    assert tracker["filter_query"] == "{}" and tracker["creator_user_id"] is None
    assert (
        gm.tracker_record({"trackerId": "1", "filterQuery": {"sort": None}})["filter_query"]
        == '{"sort":null}'
    )
    outcome = gm.call_outcome_record({"callOutcome": "No answer", "displayOrder": 2})
    assert outcome["automation"] is None and outcome["call_outcome"] == "No answer"
    assert gm.workspace_record({"id": 7, "name": "W"}) == {"id": "7", "name": "W", "description": None}
    folder = gm.library_folder_record({"id": 9, "name": "Root", "parentFolderId": None}, "7")
    assert folder == {
        "id": "9",
        "name": "Root",
        "parent_folder_id": None,
        "created_by": None,
        "updated": None,
        "workspace_id": "7",
    }
    assert gm.library_folder_record({"id": "9"}, None)["workspace_id"] is None
    item = gm.library_folder_call_record(
        {"id": 11, "title": "T", "created": "2026-01-01T00:00:00Z", "snippet": {"fromSec": "3", "toSec": 9}},
        "9",
    )
    assert (item["folder_id"], item["call_id"]) == ("9", "11")
    assert item["snippet"] == {"from_sec": 3, "to_sec": 9}
    assert item["note"] is None and item["added_by"] is None and "id" not in item


def test_daily_activity_rows_only_for_days_with_activity_dated_by_gong():
    empty = {
        key: [] for key in ("callsAsHost", "callsAttended", "ownCallsListenedTo", "callsScorecardsFilled")
    }
    raw = {
        "userId": 42,
        "userEmailAddress": "a@example.com",
        "userDailyActivityStats": [
            {**empty, "fromDate": "2026-03-01T00:00:00-08:00", "toDate": "2026-03-02T00:00:00-08:00"},
            {**empty, "callsAsHost": [1, "2"], "fromDate": "2026-03-02T00:00:00-08:00"},
            {**empty, "ownCallsListenedTo": ["3"]},  # no fromDate: the window's third day
        ],
    }
    rows = gm.daily_activity_records(raw, date(2026, 3, 1))
    assert [r["date"] for r in rows] == ["2026-03-02", "2026-03-03"]
    assert rows[0]["user_id"] == "42" and rows[0]["calls_as_host"] == ["1", "2"]
    assert rows[0]["calls_gave_feedback"] is None  # not sent: null
    assert "from_date" not in rows[0] and "user_daily_activity_stats" not in rows[0]
    assert fields(schemas.USER_DAILY_ACTIVITY) <= set(rows[0])


def test_interaction_record_has_a_column_per_statistic_and_all_of_them():
    raw = {
        "userId": "7",
        "userEmailAddress": "x@example.com",
        "personInteractionStats": [
            {"name": "Longest Monologue", "value": 120},
            {"name": "Question Rate", "value": 3.5},
            {"name": "Talk Ratio", "value": 0.4},  # one Gong adds later
        ],
    }
    record = gm.interaction_record(raw, "2026-03-04")
    assert record["date"] == "2026-03-04"
    assert record["longest_monologue"] == 120 and record["question_rate"] == 3.5
    assert record["patience"] is None and record["talk_ratio"] == 0.4
    assert record["stats"] == raw["personInteractionStats"]
    assert "person_interaction_stats" not in record
    assert gm.day_of("2026-03-04T00:00:00-08:00", date(2000, 1, 1)) == "2026-03-04"
    assert gm.day_of(None, date(2000, 1, 1)) == "2000-01-01"


def test_company_clock_before_and_after_the_zone_is_known():
    clock = gm.CompanyClock()
    now = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)  # 22:00 on the 4th in US/Pacific, 18:00 on the 4th at UTC-12
    assert clock.today(now) == date(2026, 3, 4)
    assert clock.day_of(now) == date(2026, 3, 5)
    assert clock.day_after(datetime(2026, 3, 5, tzinfo=UTC)) == date(2026, 3, 5)
    assert clock.day_after(datetime(2026, 3, 5, 0, 0, 1, tzinfo=UTC)) == date(2026, 3, 6)
    clock.note("Not/AZone")
    assert clock.zone is None
    clock.note("US/Pacific")
    assert clock.zone == ZoneInfo("US/Pacific")
    assert clock.today(datetime(2026, 3, 5, 9, 0, tzinfo=UTC)) == date(2026, 3, 5)  # 01:00 Pacific
    assert clock.day_of(now) == date(2026, 3, 4)
    clock.note("Europe/Paris")  # the first zone seen stays
    assert clock.zone == ZoneInfo("US/Pacific")


def stream(name: str, state: dict | None = None, **settings):
    config = {"access_key": "k", "access_key_secret": "s", "api_url": "http://127.0.0.1:9", **settings}
    return TapCalls(config=config, state=state, parse_env_config=False).streams[name]


def state_of(name: str, key: str, value: str) -> dict:
    return {"bookmarks": {name: {"replication_key": key, "replication_key_value": value}}}


NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def test_first_run_reads_from_the_day_of_start_date_to_the_day_of_end_date_rounded_up():
    s = stream("answered_scorecards", start_date="2026-03-01T05:00:00Z", end_date="2026-03-10T00:00:01Z")
    full = s.day_range(NOW)
    assert full == gm.Window(date(2026, 3, 1), date(2026, 3, 11))
    windows = s.windows(full.start, full.end)
    assert windows[0].start == date(2026, 3, 1) and windows[-1].end == date(2026, 3, 11)
    assert all(w.start < w.end for w in windows)  # never from == to
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    i = stream("interaction_stats", start_date="2026-03-01T05:00:00Z")
    one_day = i.windows(*i.day_range(NOW))
    assert all(w.end - w.start == timedelta(days=1) for w in one_day)
    assert i.readable_end(date(2026, 3, 21), NOW) == date(2026, 3, 20)  # today at UTC-12 (03:00 on the 20th)


@pytest.mark.parametrize(
    ("name", "key", "lookback", "expected_start"),
    [
        # bookmark 2026-03-15: answered re-reads lookback (rounded up) + one slack day; stats the lookback.
        ("answered_scorecards", "review_time", 7, date(2026, 3, 7)),
        ("answered_scorecards", "review_time", 2.5, date(2026, 3, 11)),
        ("interaction_stats", "date", 7, date(2026, 3, 8)),
        ("user_daily_activity", "date", 0, date(2026, 3, 15)),
    ],
)
def test_later_runs_start_at_the_bookmark_minus_the_lookback(name, key, lookback, expected_start):
    s = stream(
        name, state_of(name, key, "2026-03-15"), start_date="2026-01-01T00:00:00Z", lookback_days=lookback
    )
    assert s.day_range(NOW).start == expected_start


def test_a_bookmark_never_moves_back_nor_past_the_companys_yesterday():
    s = stream("interaction_stats", state_of("interaction_stats", "date", "2026-03-15"))
    s.commit_days(
        FinishedDays([gm.Window(date(2026, 3, 5), date(2026, 3, 11))]), date(2026, 3, 5), NOW, write=False
    )
    assert s.stream_state["replication_key_value"] == "2026-03-15"
    s.commit_days(
        FinishedDays([gm.Window(date(2026, 3, 14), date(2026, 3, 26))]), date(2026, 3, 14), NOW, write=False
    )
    assert s.stream_state["replication_key_value"] == "2026-03-19"  # today is the 20th at UTC-12
    assert s.bookmark_day() == date(2026, 3, 19)
    assert s.stream_state["finished_windows"] == []  # today and later are read again


def test_days_finished_past_an_unfinished_one_are_kept_and_not_read_again():
    s = stream(
        "interaction_stats",
        state_of("interaction_stats", "date", "2026-03-10"),
        start_date="2026-03-01T00:00:00Z",
        lookback_days=1,
    )
    finished = FinishedDays()
    for day in (9, 12, 13, 15):  # the 10th and 11th and the 14th did not finish
        finished.add(gm.Window(date(2026, 3, day), date(2026, 3, day + 1)))
    s.commit_days(finished, date(2026, 3, 9), NOW, write=False)
    state = s.stream_state
    assert state["replication_key_value"] == "2026-03-10"  # never back
    assert state["finished_windows"] == [["2026-03-12", "2026-03-14"], ["2026-03-15", "2026-03-16"]]
    assert state["finished_for"] == ["interaction_stats"]
    full = s.day_range(NOW)
    assert full.start == date(2026, 3, 9)  # the bookmark's day minus the look-back (a full look-back is due)
    kept = s.finished_days(full)
    assert kept.gaps(full) == [
        gm.Window(date(2026, 3, 9), date(2026, 3, 12)),
        gm.Window(date(2026, 3, 14), date(2026, 3, 15)),
        gm.Window(date(2026, 3, 16), full.end),
    ]


def test_between_full_lookbacks_a_run_rereads_from_the_bookmarks_day_minus_one():
    state = state_of("interaction_stats", "date", "2026-03-15")
    state["bookmarks"]["interaction_stats"]["full_lookback_at"] = (NOW - timedelta(hours=5)).isoformat()
    s = stream("interaction_stats", state, start_date="2026-01-01T00:00:00Z", lookback_days=7)
    assert s.day_range(NOW).start == date(2026, 3, 14)
    # 23 h after the last full look-back, the next is due (interval 24 h minus one hour).
    state["bookmarks"]["interaction_stats"]["full_lookback_at"] = (NOW - timedelta(hours=23)).isoformat()
    s = stream("interaction_stats", state, start_date="2026-01-01T00:00:00Z", lookback_days=7)
    assert s.day_range(NOW).start == date(2026, 3, 8)
    assert full_read_due((NOW - timedelta(minutes=1)).isoformat(), NOW, 0)
    assert not full_read_due((NOW - timedelta(hours=22)).isoformat(), NOW, 24)
    assert full_read_due(None, NOW, 24)
