"""Unit tests of the row builders (tap_calls/transcript_rows.py): ordering, ties, speakers, NaN, ids."""

from __future__ import annotations

import copy

from tap_calls.gong import transcript_record
from tap_calls.speakers import GONG_SPEAKER_FIELDS
from tap_calls.transcript_rows import (
    clari_seconds,
    line_count,
    line_records,
    sentence_count,
    sentence_records,
)

PARTIES = [
    {"id": "p1", "speaker_id": "s1", "name": "Rep", "email_address": "rep@x.com", "affiliation": "Internal"},
    {"id": "p2", "speaker_id": "s2", "name": "Buyer", "email_address": "b@y.com", "affiliation": "External"},
]


def gong_record(monologues: list[dict]) -> dict:
    call = {"id": "c1", "started": "2026-01-05T10:00:00Z", "parties": PARTIES}
    return transcript_record(call, [monologues])


def test_sentences_are_numbered_by_start_ties_in_gong_order() -> None:
    record = gong_record(
        [
            {
                "speakerId": "s1",
                "topic": "Intro",
                "sentences": [{"start": 0, "end": 5, "text": "a"}, {"start": 900, "end": 1000, "text": "b"}],
            },
            # Talks over the previous sentence (starts before it) and ties with the next one.
            {
                "speakerId": "s2",
                "topic": None,
                "sentences": [
                    {"start": 800, "end": 950, "text": "c"},
                    {"start": 1200, "end": 1300, "text": "d"},
                ],
            },
            {"speakerId": "s1", "topic": None, "sentences": [{"start": 1200, "end": 1250, "text": "e"}]},
        ]
    )
    rows = sentence_records(record)
    assert [r["text"] for r in rows] == ["a", "c", "b", "d", "e"]
    assert [r["sentence_index"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["monologue_index"] for r in rows] == [0, 1, 0, 1, 2]
    assert record["sentence_count"] == sentence_count(record["transcript"]) == 5
    assert rows[1]["speaker_name"] == "Buyer" and rows[1]["speaker_affiliation"] == "External"
    assert rows[0]["topic"] == "Intro" and rows[1]["topic"] is None
    for row in rows:
        monologue = record["transcript"][row["monologue_index"]]
        assert {f: row[f] for f in GONG_SPEAKER_FIELDS} == {f: monologue[f] for f in GONG_SPEAKER_FIELDS}
        assert (row["call_id"], row["call_started"]) == ("c1", "2026-01-05T10:00:00Z")


def test_sentence_rows_leave_the_record_unchanged_and_skip_junk() -> None:
    record = gong_record(
        [
            {
                "speakerId": "s9",
                "sentences": [{"start": 5, "end": 6, "text": "x"}, "junk", {"end": 3, "text": "late"}],
            },
            {"speakerId": "s1", "sentences": None},
        ]
    )
    before = copy.deepcopy(record)
    rows = sentence_records(record)
    assert record == before
    assert [r["text"] for r in rows] == ["x", "late"]  # a sentence without a start goes last
    assert rows[0]["speaker_name"] is None  # a speaker on no party
    assert record["sentence_count"] == 2
    assert sentence_records({"call_id": "c", "transcript": None}) == [] and sentence_count(None) == 0


def test_clari_seconds() -> None:
    assert clari_seconds(2.35) == 2.35
    assert clari_seconds(7) == 7
    assert clari_seconds("12.5") == 12.5
    for value in ("NaN", "nan", float("nan"), float("inf"), "", "soon", None, True, [1]):
        assert clari_seconds(value) is None, value


def test_clari_lines() -> None:
    record = {
        "id": "k1",
        "last_modified_time": "2026-01-05T10:00:00.000Z",
        "transcript": [
            {
                "text": "hi",
                "start": "NaN",
                "end": 3.5,
                "person_id": 0,
                "annotations": [{"label": "x", "phrase": "y"}],
                "speaker_name": "Ann",
                "speaker_email": "a@x.com",
                "speaker_user_id": "u1",
                "speaker_affiliation": "Internal",
            },
            "junk",
            {"text": "yo", "start": 4.0, "end": "NaN", "person_id": "7", "annotations": []},
            {"text": "x", "start": 5, "end": 6, "person_id": 3.0},
        ],
    }
    before = copy.deepcopy(record)
    rows = line_records(record)
    assert record == before
    assert [r["line_index"] for r in rows] == [0, 1, 2]
    assert [(r["start"], r["end"]) for r in rows] == [(None, 3.5), (4.0, None), (5, 6)]
    assert [r["person_id"] for r in rows] == ["0", "7", "3"]
    assert rows[0]["annotations"] == [{"label": "x", "phrase": "y"}] and rows[2]["annotations"] is None
    assert rows[0]["speaker_name"] == "Ann" and rows[1]["speaker_name"] is None
    assert {r["call_id"] for r in rows} == {"k1"}
    assert line_count(record["transcript"]) == 3 and line_count(None) == 0
