"""Transcripts as rows (issue 31), end to end over HTTP against the sandbox, compared with its ground truth.

`transcript_sentences` (Gong) and `clari_transcript_lines` (Clari) are checked row by row against what the
sandbox served (`sb.gong.expected_sentences`, `sb.clari.expected_lines`: speakers talking over each other,
ties in `start`, "NaN" times, `personId` as a number or a string), against the nested transcripts of the same
run (the same speakers), and for what they cost: no request of their own, alone or with their parents.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta

import pytest

from tap_calls.dates import parse_datetime
from tap_calls.schemas.clari import CLARI_LINE_SCHEMA
from tap_calls.schemas.gong import SENTENCE_SCHEMA
from tap_calls.speakers import CLARI_SPEAKER_FIELDS, GONG_SPEAKER_FIELDS
from tests.harness import requests_to, run_tap, sandbox_fixture, selecting, tap_config

DAYS = 121
PARENTS = {"calls", "transcripts", "clari_calls"}
ROWS = {"transcript_sentences", "clari_transcript_lines"}

sandbox = sandbox_fixture(seed=31, gong_calls=1000, gong_span_days=120, clari_calls=150, clari_span_days=120)


def paths(log: list, source: str) -> Counter[str]:
    return Counter(r.path for r in requests_to(log, source))


@pytest.fixture(scope="module")
def runs(sandbox):
    """The same first run three ways: parents only, parents and rows, rows only; with each one's requests."""
    config = tap_config(sandbox, days=DAYS)
    out = {}
    for name, streams in (("parents", PARENTS), ("both", PARENTS | ROWS), ("rows", ROWS)):
        sandbox.clear_log()
        out[name] = (run_tap(config, catalog=selecting(config, streams)), list(sandbox.log))
    return out


def start_of(sandbox):
    return sandbox.now - timedelta(days=DAYS)


def gong_truth(sandbox) -> dict[str, list[dict]]:
    calls = sandbox.gong.expected_calls(start_of(sandbox), None)
    return {c.id: sandbox.gong.expected_sentences(c) for c in calls if c.has_transcript}


def clari_truth(sandbox) -> dict[str, list[dict]]:
    calls = sandbox.clari.expected_calls(modified_gt=start_of(sandbox))
    return {c["id"]: lines for c in calls if (lines := sandbox.clari.expected_lines(c["id"])) is not None}


def by_call(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["call_id"], []).append(row)
    return {k: sorted(v, key=lambda r: r.get("sentence_index", r.get("line_index"))) for k, v in out.items()}


# ------------------------------------------------------------------------------------------------------ Gong


@pytest.mark.parametrize("selection", ["both", "rows"])
def test_every_sentence_of_every_call_exactly(sandbox, runs, selection):
    run, _ = runs[selection]
    truth = gong_truth(sandbox)
    assert len(truth) > 700
    started = {c.id: c.started for c in sandbox.gong.expected_calls(start_of(sandbox), None)}
    got = by_call(run.records["transcript_sentences"])
    assert sorted(got) == sorted(truth)
    for call_id, rows in got.items():
        assert {parse_datetime(r["call_started"]) for r in rows} == {started[call_id]}
        assert [{k: v for k, v in r.items() if k != "call_started"} for r in rows] == truth[call_id], call_id
    keys = [(r["call_id"], r["sentence_index"]) for r in run.records["transcript_sentences"]]
    assert len(keys) == len(set(keys))


def test_the_sandbox_serves_crosstalk_so_order_matters(sandbox):
    """Ties in `start` and sentences that start before the previous one: the ordering rule is exercised."""
    ties = reordered = 0
    for rows in gong_truth(sandbox).values():
        served = sorted(rows, key=lambda r: (r["monologue_index"], r["start"]))
        starts = [r["start"] for r in rows]
        ties += len(starts) != len(set(starts))
        reordered += [r["sentence_index"] for r in served] != sorted(r["sentence_index"] for r in served)
    assert ties > 20 and reordered > 20, (ties, reordered)


def test_sentences_follow_their_transcript_and_share_its_speakers(runs):
    run, _ = runs["both"]
    position: dict[tuple[str, str], list[int]] = {}
    for n, message in enumerate(run.messages):
        if message["type"] == "RECORD" and message["stream"] in {"transcripts", "transcript_sentences"}:
            position.setdefault((message["stream"], message["record"]["call_id"]), []).append(n)
    transcripts = {r["call_id"]: r for r in run.records["transcripts"]}
    rows = by_call(run.records["transcript_sentences"])
    assert sorted(rows) == sorted(transcripts)
    for call_id, record in transcripts.items():
        at = position[("transcript_sentences", call_id)]
        assert at[0] > position[("transcripts", call_id)][0], "a call's rows come after its transcript"
        assert at == list(range(at[0], at[0] + len(at))), "a call's rows are emitted together"
        assert record["sentence_count"] == len(rows[call_id])
        for row in rows[call_id]:
            monologue = record["transcript"][row["monologue_index"]]
            assert {f: row[f] for f in GONG_SPEAKER_FIELDS} == {f: monologue[f] for f in GONG_SPEAKER_FIELDS}
            assert (row["speaker_id"], row["topic"]) == (monologue["speaker_id"], monologue["topic"])
            assert {"start": row["start"], "end": row["end"], "text": row["text"]} in monologue["sentences"]


def test_gong_rows_cost_no_request_alone_or_with_parents(sandbox, runs):
    """With their parents, the run sends what it sends without them; alone, the transcript requests are the
    same (100 calls a request), and calls are listed once: about 20 Gong requests per 1,000 calls."""
    parents, both, rows = (paths(runs[k][1], "gong") for k in ("parents", "both", "rows"))
    calls = len(sandbox.gong.expected_calls(start_of(sandbox), None))
    with_transcript = len(gong_truth(sandbox))
    for counted in (parents, both, rows):
        assert set(counted) == {"/v2/calls/extensive", "/v2/calls/transcript"}
        assert counted["/v2/calls/transcript"] <= -(-with_transcript // 100) + 4
        assert sum(counted.values()) <= 21 * calls / 1000 + 6
    assert both["/v2/calls/transcript"] == parents["/v2/calls/transcript"]


def test_sentences_schema_and_types(runs):
    run, _ = runs["rows"]
    assert run.schemas["transcript_sentences"]["properties"].keys() == SENTENCE_SCHEMA["properties"].keys()
    for row in run.records["transcript_sentences"]:
        assert row.keys() == SENTENCE_SCHEMA["properties"].keys()
        assert isinstance(row["start"], int) and isinstance(row["end"], int)
        assert isinstance(row["sentence_index"], int) and isinstance(row["monologue_index"], int)


# ----------------------------------------------------------------------------------------------------- Clari


@pytest.mark.parametrize("selection", ["both", "rows"])
def test_every_clari_line_exactly(sandbox, runs, selection):
    run, _ = runs[selection]
    truth = clari_truth(sandbox)
    got = by_call(run.records["clari_transcript_lines"])
    assert sorted(got) == sorted(truth)
    for call_id, rows in got.items():
        assert rows == truth[call_id], call_id
    keys = [(r["call_id"], r["line_index"]) for r in run.records["clari_transcript_lines"]]
    assert len(keys) == len(set(keys))
    everything = [r for rows in got.values() for r in rows]
    assert any(r["start"] is None for r in everything) and any(r["end"] is None for r in everything)
    assert all(isinstance(r["person_id"], str) for r in everything)
    assert any(r["annotations"] for r in everything)


def test_clari_lines_follow_their_call_and_share_its_speakers(runs):
    run, _ = runs["both"]
    seen_calls: set[str] = set()
    calls = {r["id"]: r for r in run.records["clari_calls"]}
    current, done = None, set()
    for message in run.messages:
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        if message["stream"] == "clari_calls":
            seen_calls.add(record["id"])
            current = None
        elif message["stream"] == "clari_transcript_lines":
            assert record["call_id"] in seen_calls, "a call's lines come after its clari_calls record"
            if record["call_id"] != current:
                assert record["call_id"] not in done, "a call's lines are emitted together"
                if current is not None:
                    done.add(current)
                current = record["call_id"]
    lines = by_call(run.records["clari_transcript_lines"])
    for call_id, record in calls.items():
        nested = record["transcript"] or []
        assert record["transcript_line_count"] == len(nested) == len(lines.get(call_id, []))
        for row, line in zip(lines.get(call_id, []), nested, strict=True):
            assert {f: row[f] for f in CLARI_SPEAKER_FIELDS} == {f: line[f] for f in CLARI_SPEAKER_FIELDS}
            assert (row["text"], row["annotations"]) == (line["text"], line["annotations"])


def test_clari_rows_cost_one_details_request_per_call_alone_or_with_parents(sandbox, runs):
    listed = len(sandbox.clari.expected_calls(modified_gt=start_of(sandbox)))
    parents, both, rows = (paths(runs[k][1], "clari") for k in ("parents", "both", "rows"))
    assert parents == both
    assert rows["/call-details"] == parents["/call-details"]
    assert listed <= parents["/call-details"] <= listed + 2  # + the calls /call-details does not know


def test_lines_schema(runs):
    run, _ = runs["rows"]
    schema = run.schemas["clari_transcript_lines"]
    assert schema["properties"].keys() == CLARI_LINE_SCHEMA["properties"].keys()
    assert schema["properties"]["start"]["x-sql-datatype"] == "double precision"
    for row in run.records["clari_transcript_lines"]:
        assert row.keys() == CLARI_LINE_SCHEMA["properties"].keys()


def test_lines_survive_a_deselected_nested_transcript(sandbox):
    """The SDK drops a record's deselected properties in place once it has it: lines are taken before."""
    config = tap_config(sandbox, "clari", days=DAYS)
    catalog = selecting(config, {"clari_calls", "clari_transcript_lines"})
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "clari_calls":
            for meta in entry["metadata"]:
                if meta["breadcrumb"] == ["properties", "transcript"]:
                    meta["metadata"]["selected"] = False
    run = run_tap(config, catalog=catalog)
    assert all("transcript" not in r for r in run.records["clari_calls"])
    got = by_call(run.records["clari_transcript_lines"])
    assert got == clari_truth(sandbox)


# ---------------------------------------------------------------------------------- added to a pipeline


def test_a_row_stream_added_later_gets_every_call(sandbox):
    """Run 1 extracts the parents; run 2, given run 1's STATE, adds the row streams: the look-back summary
    says those transcripts and details were emitted, yet every call's rows arrive (its whole history). Run 3
    goes back to normal: only a call published late is fetched, with its rows."""
    config = tap_config(sandbox, days=DAYS)
    first = run_tap(config, catalog=selecting(config, {"transcripts", "clari_calls"}))
    assert first.records["transcripts"]
    catalog = selecting(config, PARENTS | ROWS)
    sandbox.clear_log()
    second = run_tap(config, state=copy.deepcopy(first.state), catalog=catalog)
    assert by_call(second.records["clari_transcript_lines"]) == clari_truth(sandbox)
    truth = gong_truth(sandbox)
    got = by_call(second.records["transcript_sentences"])
    assert sorted(got) == sorted(truth)
    assert all(
        [{k: v for k, v in r.items() if k != "call_started"} for r in got[k]] == truth[k] for k in truth
    )
    assert "transcript_sentences" in second.state["bookmarks"]
    assert "clari_transcript_lines" in second.state["bookmarks"]

    # A call published late inside the look-back: its transcript and its rows, and nothing else, come again.
    late = sandbox.gong.add_calls(
        1,
        sandbox.now - timedelta(days=3),
        sandbox.now - timedelta(days=2),
        has_transcript=True,
        is_private=False,
    )
    sandbox.clear_log()
    full_lookback = {**config, "lookback_interval_hours": 0}
    third = run_tap(full_lookback, state=copy.deepcopy(second.state), catalog=catalog)
    assert [r["call_id"] for r in third.records["transcripts"]] == [late[0].id]
    assert by_call(third.records["transcript_sentences"]).keys() == {late[0].id}
    assert [
        {k: v for k, v in r.items() if k != "call_started"}
        for r in by_call(third.records["transcript_sentences"])[late[0].id]
    ] == sandbox.gong.expected_sentences(late[0])
    assert not third.records["clari_transcript_lines"]
    assert paths(list(sandbox.log), "gong")["/v2/calls/transcript"] == 1
    assert paths(list(sandbox.log), "clari")["/call-details"] == 0


def test_sentences_of_a_transcript_sent_in_parts():
    """Gong may send a long transcript as several entries, across pages: the rows are those of the whole."""
    from calls_sandbox import Sandbox

    with Sandbox(seed=11, gong_calls=150, gong_span_days=20, gong_split_transcripts=True) as sb:
        start = sb.now - timedelta(days=21)
        config = tap_config(sb, "gong", start_date=start.isoformat())
        run = run_tap(config, catalog=selecting(config, {"transcript_sentences"}))
        truth = {
            c.id: sb.gong.expected_sentences(c)
            for c in sb.gong.expected_calls(start, None)
            if c.has_transcript
        }
        got = by_call(run.records["transcript_sentences"])
        assert sorted(got) == sorted(truth)
        for call_id, rows in got.items():
            assert [{k: v for k, v in r.items() if k != "call_started"} for r in rows] == truth[call_id], (
                call_id
            )


def test_sentences_survive_a_deselected_nested_transcript():
    """The SDK drops `transcripts.transcript` in place when it is deselected: the rows do not depend on it."""
    from calls_sandbox import Sandbox

    with Sandbox(seed=12, gong_calls=120, gong_span_days=20) as sb:
        start = sb.now - timedelta(days=21)
        config = tap_config(sb, "gong", start_date=start.isoformat())
        catalog = selecting(config, {"transcripts", "transcript_sentences"})
        for entry in catalog["streams"]:
            if entry["tap_stream_id"] == "transcripts":
                for meta in entry["metadata"]:
                    if meta["breadcrumb"] == ["properties", "transcript"]:
                        meta["metadata"]["selected"] = False
        run = run_tap(config, catalog=catalog)
        truth = {
            c.id: sb.gong.expected_sentences(c)
            for c in sb.gong.expected_calls(start, None)
            if c.has_transcript
        }
        assert run.records["transcripts"] and all("transcript" not in r for r in run.records["transcripts"])
        assert {r["call_id"]: r["sentence_count"] for r in run.records["transcripts"]} == {
            k: len(v) for k, v in truth.items()
        }
        got = by_call(run.records["transcript_sentences"])
        assert {
            k: [{f: v for f, v in r.items() if f != "call_started"} for r in rows] for k, rows in got.items()
        } == truth
