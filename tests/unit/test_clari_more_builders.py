"""The pure pieces of tap_calls.clari_more: record builders, the template key, the interval rule, the halves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from tap_calls.bookmarks import full_read_due
from tap_calls.clari_more import (
    CLARI_SCORECARD_SCHEMA,
    CLARI_SCORECARD_TEMPLATE_SCHEMA,
    CLARI_TOPIC_SCHEMA,
    CLARI_USER_SCHEMA,
    TimeRange,
    scorecard_record,
    template_items,
    template_record,
    topic_record,
    user_record,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def valid(schema: dict, record: dict) -> None:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(record))
    assert not errors, errors[0].message


def test_user_without_manager_gets_a_null_manager_id():
    item = {"id": "e04483dd-fb82-460a-a14e-b6f3e6a2b7a4", "email": "a@x.com", "name": "April", "role": "MANAGER",
            "is_recording": True}  # fmt: skip
    record = user_record(item)
    assert record == {**item, "manager_id": None}
    valid(CLARI_USER_SCHEMA, record)


def test_user_ids_become_strings_and_new_fields_pass_through_in_snake_case():
    record = user_record({"id": 17, "manager_id": 3, "teamName": "West", "name": "Bo"})
    assert record["id"] == "17" and record["manager_id"] == "3"
    assert record["team_name"] == "West"
    assert record["email"] is None and record["role"] is None and record["is_recording"] is None
    valid(CLARI_USER_SCHEMA, record)


def test_an_empty_manager_id_is_null():
    assert user_record({"id": "u", "manager_id": ""})["manager_id"] is None


def test_keyword_topic_has_a_null_custom_topic():
    item = {"topic_id": "t1", "topic_name": "Pricing", "type": "KEYWORD", "team_ids": ["a", 7],
            "keyword_topic": {"trackers": ["price", "cost"]}}  # fmt: skip
    record = topic_record(item)
    assert record == {**item, "team_ids": ["a", "7"], "custom_topic": None}
    valid(CLARI_TOPIC_SCHEMA, record)


def test_custom_topic_keeps_its_object_with_missing_keys_as_null():
    record = topic_record({"topic_id": 5, "type": "CUSTOM", "custom_topic": {"description": "Legal talk"}})
    assert record["topic_id"] == "5"
    assert record["custom_topic"] == {"description": "Legal talk", "status": None}
    assert record["keyword_topic"] is None and record["team_ids"] is None and record["topic_name"] is None
    valid(CLARI_TOPIC_SCHEMA, record)


def test_scorecard_ids_and_orders_are_strings_and_scores_stay_numbers():
    item = {"id": 99, "type": "MANUAL", "rep": "u1", "scorer": 2, "template_id": "tp", "call_id": "c",
            "total_score": 3.5, "questions_score": [{"score": 4, "skill": "Discovery", "label": "Asked", "order": 1},
                                                     {"score": 3, "skill": "Closing", "label": "Next", "order": "2"}]}  # fmt: skip
    record = scorecard_record(item)
    assert (record["id"], record["scorer"], record["rep"]) == ("99", "2", "u1")
    assert record["remark"] is None
    assert record["total_score"] == 3.5
    assert record["questions_score"] == [
        {"score": 4, "skill": "Discovery", "label": "Asked", "order": "1"},
        {"score": 3, "skill": "Closing", "label": "Next", "order": "2"},
    ]
    valid(CLARI_SCORECARD_SCHEMA, record)


def test_scorecard_question_missing_keys_are_null_and_the_input_is_not_changed():
    item = {"id": "s", "questions_score": [{"score": 2, "extraNote": "x"}]}
    record = scorecard_record(item)
    assert record["questions_score"] == [
        {"score": 2, "skill": None, "label": None, "order": None, "extra_note": "x"}
    ]
    assert item == {"id": "s", "questions_score": [{"score": 2, "extraNote": "x"}]}
    valid(CLARI_SCORECARD_SCHEMA, record)


def test_template_record():
    item = {"id": "t", "customer_id": 12, "name": "Discovery", "type": "CALL",
            "questions": [{"skill": "Rapport", "label": "Agenda", "order": 1}]}  # fmt: skip
    record = template_record(item)
    assert record == {
        **item,
        "customer_id": "12",
        "questions": [{"skill": "Rapport", "label": "Agenda", "order": "1"}],
    }
    valid(CLARI_SCORECARD_TEMPLATE_SCHEMA, record)
    assert template_record({"id": "u"}) == {
        "id": "u",
        "customer_id": None,
        "name": None,
        "type": None,
        "questions": None,
    }


@pytest.mark.parametrize("key", ["scoreCardTemplates", "scorecardTemplates"])
def test_template_list_under_either_key(key):
    assert template_items({key: [{"id": "a"}]}) == [{"id": "a"}]
    assert template_items({key: []}) == []
    assert template_items({key: None}) == []


def test_template_list_under_no_known_key_is_none():
    assert template_items({"templates": [{"id": "a"}]}) is None
    assert template_items([]) is None


@pytest.mark.parametrize(
    ("last", "interval", "due"),
    [
        (None, 24, True),
        ("", 24, True),
        ("not a time", 24, True),
        ("2026-06-01T11:00:00Z", 24, False),
        ("2026-05-31T13:00:01Z", 24, False),  # 22 h 59 m 59 s ago
        ("2026-05-31T13:00:00Z", 24, True),  # 23 h ago: a daily run started a little earlier still reads
        ("2026-05-30T12:00:00Z", 24, True),
        ("2026-06-01T11:59:59Z", 0, True),
        ("2026-06-01T12:00:00Z", 0, True),
        ("2026-06-01T10:00:00Z", 3, True),
        ("2026-06-01T10:00:01Z", 3, False),
    ],
)
def test_full_read_due(last, interval, due):
    assert full_read_due(last, NOW, interval) is due


def test_halves_overlap_by_one_second_and_keep_open_sides_open():
    floor = datetime(2026, 1, 1, tzinfo=UTC)
    earlier, later = TimeRange().halves(floor, floor + timedelta(seconds=100))
    assert earlier == TimeRange(None, floor + timedelta(seconds=50))
    assert later == TimeRange(floor + timedelta(seconds=49), None)
    assert earlier.params() == {"filterTimeLt": "2026-01-01T00:00:50Z"}
    assert later.params() == {"filterTimeGt": "2026-01-01T00:00:49Z"}
    inner_earlier, inner_later = later.halves(floor, floor + timedelta(seconds=100))
    assert inner_earlier == TimeRange(floor + timedelta(seconds=49), floor + timedelta(seconds=74))
    assert inner_later == TimeRange(floor + timedelta(seconds=73), None)
    assert TimeRange().params() == {}


def test_halves_stop_when_a_half_would_not_be_smaller():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert TimeRange(start, start + timedelta(seconds=3)).halves(start, start) is None
    assert TimeRange(start, start + timedelta(seconds=4)).halves(start, start) is not None
