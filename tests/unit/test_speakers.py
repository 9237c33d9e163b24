"""Unit tests for tap_calls/speakers.py: the joins on their own, edge cases the sandbox may not reach."""

from __future__ import annotations

import copy

import pytest

from tap_calls.speakers import (
    CLARI_SPEAKER_FIELDS,
    GONG_SPEAKER_FIELDS,
    add_clari_speakers,
    add_gong_speakers,
    clari_user_names,
    id_key,
)

NO_GONG_SPEAKER = dict.fromkeys(GONG_SPEAKER_FIELDS)
NO_CLARI_SPEAKER = dict.fromkeys(CLARI_SPEAKER_FIELDS)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (7, "7"),
        ("7", "7"),
        (" 7 ", "7"),
        (7.0, "7"),
        ("007", "7"),
        (0, "0"),
        ("0", "0"),
        (-3, "-3"),
        ("-3", "-3"),
        (6432345678555530067, "6432345678555530067"),
        ("e04483dd-1c2f", "e04483dd-1c2f"),
        (None, None),
        ("", None),
        ("  ", None),
        (True, None),
        (False, None),
        ([1], None),
        ({"id": 1}, None),
    ],
)
def test_id_key(value, key):
    assert id_key(value) == key


# ------------------------------------------------------------------------------------------------------ Gong

PARTIES = [
    {
        "id": "p1",
        "speaker_id": "6432345678555530067",
        "name": "Test User",
        "email_address": "test@example.com",
        "title": "AE",
        "affiliation": "Internal",
        "user_id": "234599484848423",
        "methods": ["Invitee"],
    },
    {"id": "p2", "speaker_id": None, "name": "Silent Observer", "affiliation": "External"},
    {"id": "p3", "speaker_id": "111", "name": "Jane Buyer", "email_address": None, "affiliation": "External"},
]


def mono(speaker_id):
    return {"speaker_id": speaker_id, "topic": None, "sentences": [{"start": 0, "end": 1, "text": "Hi."}]}


def test_gong_monologue_takes_the_matching_party():
    out = add_gong_speakers([mono("6432345678555530067"), mono("111")], PARTIES)
    assert out[0] == {
        **mono("6432345678555530067"),
        "speaker_name": "Test User",
        "speaker_email_address": "test@example.com",
        "speaker_title": "AE",
        "speaker_affiliation": "Internal",
        "speaker_user_id": "234599484848423",
        "speaker_party_id": "p1",
    }
    # Absent party fields come out null.
    assert out[1] == {
        **mono("111"),
        "speaker_name": "Jane Buyer",
        "speaker_email_address": None,
        "speaker_title": None,
        "speaker_affiliation": "External",
        "speaker_user_id": None,
        "speaker_party_id": "p3",
    }


def test_gong_ids_compare_as_strings():
    parties = [{"id": 5, "speaker_id": 111, "name": "Numeric", "user_id": 42}]
    out = add_gong_speakers([mono("111"), mono(111), mono(" 111")], parties)
    assert [m["speaker_name"] for m in out] == ["Numeric"] * 3
    # Ids stay strings even if a number came in.
    assert (out[0]["speaker_party_id"], out[0]["speaker_user_id"]) == ("5", "42")


@pytest.mark.parametrize("parties", [None, [], [None, "junk"], "not a list"])
def test_gong_no_parties_gives_nulls(parties):
    out = add_gong_speakers([mono("6432345678555530067")], parties)
    assert out == [{**mono("6432345678555530067"), **NO_GONG_SPEAKER}]


def test_gong_unknown_and_null_speakers_match_nobody():
    # A null speaker id must not match the party whose speaker id is null (a non-speaker).
    out = add_gong_speakers([mono("999"), mono(None), {"topic": "no speaker key"}], PARTIES)
    for monologue in out:
        assert {k: monologue[k] for k in GONG_SPEAKER_FIELDS} == NO_GONG_SPEAKER


def test_gong_first_party_wins_on_a_repeated_speaker_id():
    parties = [
        {"id": "a", "speaker_id": "1", "name": "First"},
        {"id": "b", "speaker_id": "1", "name": "Second"},
    ]
    assert add_gong_speakers([mono("1")], parties)[0]["speaker_name"] == "First"


def test_gong_inputs_are_not_changed_and_odd_entries_pass_through():
    monologues = [mono("111"), None, "junk"]
    parties = copy.deepcopy(PARTIES)
    before = copy.deepcopy((monologues, parties))
    out = add_gong_speakers(monologues, parties)
    assert (monologues, parties) == before
    assert out[1:] == [None, "junk"]
    assert add_gong_speakers(None, PARTIES) is None
    assert add_gong_speakers([], PARTIES) == []


# ----------------------------------------------------------------------------------------------------- Clari

NAMES = {"u-rep": "April Rep", "u-mgr": "Mo Manager"}


def clari_call(**overrides):
    call = {
        "users": [
            {"user_id": "u-rep", "user_email": "rep@corp.com", "is_organizer": True, "person_id": 0},
            {"user_id": "u-gone", "user_email": "gone@corp.com", "is_organizer": False, "person_id": "1"},
            {"user_id": "u-mgr", "user_email": "mgr@corp.com", "is_organizer": False, "person_id": 5},
        ],
        "external_participants": [
            {"name": "Jane Buyer", "email": "jane@buyer.com", "phone": "+1555", "person_id": "2"},
            {"name": "No Mail", "person_id": 3},
        ],
        "joined_participants": [
            {"name": "Jane", "email": "jane@buyer.com", "person_id": 2},  # Jane again, shorter name
            {"name": "rep (Zoom)", "person_id": "0"},  # the rep as the meeting saw them
            {"name": "Gone User", "person_id": 1},  # a user no longer in GET /users
            {"name": "Walk-in", "email": "walk@in.org", "person_id": "4"},
            {"name": "Person Five Alias", "person_id": "5"},
        ],
        "transcript": [
            {"text": f"line {i}", "start": i, "end": i + 1, "person_id": pid, "annotations": []}
            for i, pid in enumerate(["0", 0, 1, "1", 2, "2", 3, 4, "4", 5, 9, "9", None, "", True])
        ],
    }
    call.update(overrides)
    return call


def speakers(lines):
    return [{k: line[k] for k in CLARI_SPEAKER_FIELDS} for line in lines]


REP = {
    "speaker_name": "April Rep",
    "speaker_email": "rep@corp.com",
    "speaker_user_id": "u-rep",
    "speaker_affiliation": "Internal",
}
GONE = {
    "speaker_name": "Gone User",
    "speaker_email": "gone@corp.com",
    "speaker_user_id": "u-gone",
    "speaker_affiliation": "Internal",
}
JANE = {
    "speaker_name": "Jane Buyer",
    "speaker_email": "jane@buyer.com",
    "speaker_user_id": None,
    "speaker_affiliation": "External",
}
NO_MAIL = {
    "speaker_name": "No Mail",
    "speaker_email": None,
    "speaker_user_id": None,
    "speaker_affiliation": "External",
}
WALK_IN = {
    "speaker_name": "Walk-in",
    "speaker_email": "walk@in.org",
    "speaker_user_id": None,
    "speaker_affiliation": "External",
}
MGR = {
    "speaker_name": "Mo Manager",
    "speaker_email": "mgr@corp.com",
    "speaker_user_id": "u-mgr",
    "speaker_affiliation": "Internal",
}


def test_clari_lines_resolve_users_then_external_then_joined_with_mixed_id_types():
    out = add_clari_speakers(clari_call(), NAMES)
    assert speakers(out) == [
        REP, REP,  # "0" and 0 on a users entry typed 0; /users' name beats the joined alias
        GONE, GONE,  # not in /users: the name they joined under
        JANE, JANE,  # the invited entry wins over the joined one
        NO_MAIL,
        WALK_IN, WALK_IN,  # only joined
        MGR,  # /users' name beats the alias "Person Five Alias"
        NO_CLARI_SPEAKER, NO_CLARI_SPEAKER,  # an id on no list
        NO_CLARI_SPEAKER, NO_CLARI_SPEAKER, NO_CLARI_SPEAKER,  # null, empty, a boolean
    ]  # fmt: skip
    assert [line["text"] for line in out] == [f"line {i}" for i in range(15)]
    assert out[0]["person_id"] == "0"  # the id itself is left as Clari sent it


def test_clari_failed_users_request_leaves_every_internal_name_null():
    out = add_clari_speakers(clari_call(), None)
    internal = [line for line in out if line["speaker_affiliation"] == "Internal"]
    assert len(internal) == 5
    assert all(line["speaker_name"] is None for line in internal)
    assert [line["speaker_email"] for line in internal] == ["rep@corp.com"] * 2 + ["gone@corp.com"] * 2 + [
        "mgr@corp.com"
    ]
    assert speakers(out)[4:9] == [JANE, JANE, NO_MAIL, WALK_IN, WALK_IN]  # externals unaffected


def test_clari_user_not_in_users_and_not_joined_has_null_name():
    call = clari_call(joined_participants=None)
    out = add_clari_speakers(call, NAMES)
    assert speakers(out)[2] == {**GONE, "speaker_name": None}
    assert speakers(out)[7] == NO_CLARI_SPEAKER  # the walk-in was only on the missing list


@pytest.mark.parametrize("missing", ["users", "external_participants", "joined_participants"])
def test_clari_any_list_may_be_missing_or_null(missing):
    for value in (None, [], "junk", [None, 3]):
        call = clari_call(**{missing: value})
        out = add_clari_speakers(call, NAMES)
        assert len(out) == 15
    call = clari_call()
    del call[missing]
    assert len(add_clari_speakers(call, NAMES)) == 15


def test_clari_transcript_none_or_empty_and_inputs_unchanged():
    assert add_clari_speakers(clari_call(transcript=None), NAMES) is None
    assert add_clari_speakers(clari_call(transcript=[]), NAMES) == []
    call = clari_call()
    call["transcript"].append("junk")
    before = copy.deepcopy(call)
    out = add_clari_speakers(call, NAMES)
    assert call == before
    assert out[-1] == "junk"
    assert "speaker_name" not in call["transcript"][0]


def test_clari_users_name_lookup_is_by_user_id_as_text():
    call = clari_call(users=[{"user_id": 12345, "user_email": "n@corp.com", "person_id": 0}])
    assert add_clari_speakers(call, {"12345": "Numeric Id"})[0]["speaker_user_id"] == "12345"
    assert add_clari_speakers(call, {"12345": "Numeric Id"})[0]["speaker_name"] == "Numeric Id"
    # An empty name from /users falls back to the joined name.
    assert add_clari_speakers(call, {"12345": ""})[0]["speaker_name"] == "rep (Zoom)"


def test_clari_user_names_from_users_body():
    body = [
        {"id": "u-1", "name": "April", "email": "a@corp.com"},
        {"id": "u-2", "email": "no-name@corp.com"},
        {"id": None, "name": "No Id"},
        "junk",
        {"id": "u-1", "name": "Duplicate"},
    ]
    assert clari_user_names(body) == {"u-1": "April"}
    assert clari_user_names(None) == {}
