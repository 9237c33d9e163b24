"""keys.ids_as_strings: numbers in id fields typed as strings become their text, at every depth; nothing else
changes."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_calls.keys import ids_as_strings
from tap_calls.schemas.gong import CALL_SCHEMA

SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType),
    th.Property("title", th.StringType),
    th.Property("started", th.DateTimeType),
    th.Property("active", th.BooleanType),
    th.Property("person_id", th.CustomType({"type": ["string", "integer", "null"]})),
    th.Property("selected_options", th.ArrayType(th.StringType)),
    th.Property(
        "parties",
        th.ArrayType(
            th.ObjectType(th.Property("user_id", th.StringType), th.Property("count", th.IntegerType))
        ),
    ),
).to_dict()


def test_numbers_in_id_fields_become_text_and_nothing_else_changes() -> None:
    record = {
        "id": 7782342274025937895,
        "title": 42,  # not an id: left as sent
        "started": 1518863400.0,
        "active": True,
        "person_id": 5,  # typed loosely: left as sent
        "selected_options": [1, "2", 3.0],
        "parties": [{"user_id": 12, "count": 3}, {"user_id": None}, "junk"],
    }
    conform = ids_as_strings(SCHEMA)
    assert conform is not None
    conform(record)
    assert record == {
        "id": "7782342274025937895",
        "title": 42,
        "started": 1518863400.0,
        "active": True,
        "person_id": 5,
        "selected_options": ["1", "2", "3"],
        "parties": [{"user_id": "12", "count": 3}, {"user_id": None}, "junk"],
    }


def test_every_nested_id_of_calls_is_covered() -> None:
    record = {
        "id": "1",
        "primary_user_id": 2,
        "parties": [{"id": 3, "user_id": 4, "speaker_id": 5, "context": [{"objects": [{"object_id": 6}]}]}],
        "interaction": {"speakers": [{"id": 7, "user_id": 8, "talk_time": 9.5}]},
        "collaboration": {"public_comments": [{"id": 10, "commenter_user_id": 11, "in_reply_to": 12}]},
        "content": {"trackers": [{"id": 13, "occurrences": [{"speaker_id": 14, "start_time": 1.0}]}]},
    }
    conform = ids_as_strings(CALL_SCHEMA)
    assert conform is not None
    conform(record)
    party = record["parties"][0]
    assert (party["id"], party["user_id"], party["speaker_id"]) == ("3", "4", "5")
    assert party["context"][0]["objects"][0]["object_id"] == "6"
    assert record["primary_user_id"] == "2"
    assert record["interaction"]["speakers"][0] == {"id": "7", "user_id": "8", "talk_time": 9.5}
    assert record["collaboration"]["public_comments"][0] == {
        "id": "10",
        "commenter_user_id": "11",
        "in_reply_to": "12",
    }
    tracker = record["content"]["trackers"][0]
    assert tracker["id"] == "13" and tracker["occurrences"][0] == {"speaker_id": "14", "start_time": 1.0}
