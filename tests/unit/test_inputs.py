"""tap_calls.inputs: the checks of what a user hands the tap, without a process or a server."""

from __future__ import annotations

import pytest

from tap_calls.errors import TapCallsError
from tap_calls.inputs import (
    read_catalog_file,
    read_config_file,
    read_json_file,
    unknown_setting_warnings,
    usable_state,
)
from tap_calls.tap import TapCalls

STREAMS = {"calls": "started", "parties": "call_started", "users": None}
GOOD = {"replication_key": "started", "replication_key_value": "2026-01-01T00:00:00Z"}


def test_every_stream_of_the_tap_is_known_with_its_replication_key() -> None:
    known = TapCalls.stream_replication_keys()
    assert known["calls"] == "started"
    assert known["transcripts"] == "call_started"
    assert known["users"] is None
    assert known["clari_calls"] == "last_modified_time"


def test_known_settings_include_the_sdk_builtins() -> None:
    known = TapCalls.known_settings()
    assert {"start_date", "stream_maps", "stream_map_config", "flattening_enabled", "batch_config"} <= known


def test_unknown_setting_names_the_closest() -> None:
    lines = unknown_setting_warnings({"start_data": 1, "start_date": 2, "zzz": 3}, {"start_date", "end_date"})
    assert lines == [
        "unknown setting 'start_data' is ignored; did you mean 'start_date'?",
        "unknown setting 'zzz' is ignored; see `tap-calls --about` for the settings",
    ]


def test_a_good_state_is_used_as_it_is() -> None:
    state = {"bookmarks": {"calls": GOOD}, "currently_syncing": None}
    assert usable_state(state, STREAMS) == ({"bookmarks": {"calls": GOOD}}, [])
    assert usable_state({}, STREAMS) == ({}, [])
    assert usable_state(None, STREAMS) == ({}, [])


@pytest.mark.parametrize(
    ("state", "usable", "warning"),
    [
        ([], {}, "not a Singer state"),
        ("x", {}, "JSON string, not a Singer state"),
        ({"calls": GOOD}, {}, 'no "bookmarks"'),
        ({"bookmarks": []}, {}, "not an object"),
        (
            {"singer_state": {"bookmarks": {"calls": GOOD}}},
            {"bookmarks": {"calls": GOOD}},
            "Meltano's wrapper",
        ),
        (
            {"completed": {"singer_state": {"bookmarks": {"calls": GOOD}}}, "partial": {}},
            {"bookmarks": {"calls": GOOD}},
            "Meltano's wrapper",
        ),
        ({"bookmarks": {"calls": GOOD}, "x": 1}, {"bookmarks": {"calls": GOOD}}, "top-level keys 'x'"),
        ({"bookmarks": {"calls": 5}}, {"bookmarks": {}}, "bookmark of calls is a JSON number"),
        (
            {"bookmarks": {"calls": {**GOOD, "replication_key": "updated"}}},
            {"bookmarks": {}},
            "for replication key 'updated', but calls uses 'started'",
        ),
        (
            {"bookmarks": {"calls": {**GOOD, "replication_key_value": "last week"}}},
            {"bookmarks": {}},
            "'last week' is not an RFC 3339 date-time",
        ),
        (
            {"bookmarks": {"calls": {"replication_key_value": "2026-01-01T00:00:00Z"}}},
            {"bookmarks": {"calls": GOOD}},
            "no replication_key: taking",
        ),
        ({"bookmarks": {"users": GOOD}}, {"bookmarks": {}}, "users is a full-table stream"),
        (
            {"bookmarks": {"parties": {**GOOD, "replication_key": "call_started", "other": 1}}},
            {"bookmarks": {"parties": {**GOOD, "replication_key": "call_started", "other": 1}}},
            None,
        ),
        (
            {"bookmarks": {"calls": {"replication_key": "x", "replication_key_value": "y", "summary": [1]}}},
            {"bookmarks": {"calls": {"summary": [1]}}},
            "for replication key 'x'",
        ),
        (
            {"bookmarks": {"cals": GOOD}},
            {"bookmarks": {"cals": GOOD}},
            "does not have: cals (did you mean calls?)",
        ),
    ],
)
def test_usable_state(state, usable, warning) -> None:
    got, warnings = usable_state(state, STREAMS)
    assert got == usable
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warning in warnings[0], warnings


def test_files(tmp_path) -> None:
    (tmp_path / "blank.json").write_text(" \n")
    assert read_json_file(str(tmp_path / "blank.json"), "state") is None
    (tmp_path / "bad.json").write_text("{'a': 1}")
    with pytest.raises(
        TapCallsError, match=r"state file '.*bad.json' is not valid JSON: .* at line 1 column 2"
    ):
        read_json_file(str(tmp_path / "bad.json"), "state")
    with pytest.raises(TapCallsError, match="is a directory"):
        read_config_file(str(tmp_path))
    with pytest.raises(TapCallsError, match="does not exist"):
        read_config_file(str(tmp_path / "nope.json"))
    (tmp_path / "cat.json").write_text('{"streams": "calls"}')
    with pytest.raises(TapCallsError, match="not a Singer catalog"):
        read_catalog_file(str(tmp_path / "cat.json"))
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(TapCallsError, match="not UTF-8"):
        read_config_file(str(tmp_path / "bin.json"))
