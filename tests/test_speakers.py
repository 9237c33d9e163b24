"""Who said what (issue 13), end to end over HTTP against the sandbox, compared with its ground truth.

Every Gong monologue and every Clari transcript line is checked, not a sample: the sandbox knows whom it
generated each line for (`sb.gong.expected_speakers`, `sb.clari.expected_speakers`), including speakers on
no party, imported calls without parties, Clari former users, guests who only joined, ids on no list, and
`personId` sent as a number in one place and a string in another.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from calls_sandbox import Sandbox
from tap_calls import clari as clari_module
from tap_calls import gong as gong_module
from tap_calls.clari import ClariCallsStream
from tap_calls.client import SourceStream
from tap_calls.dates import parse_datetime
from tap_calls.speakers import CLARI_SPEAKER_FIELDS, GONG_SPEAKER_FIELDS, id_key
from tests.harness import first_backfill_floor, run_tap, sandbox_fixture, tap_config

README = Path(__file__).resolve().parents[1] / "docs" / "streams.md"  # its "Who said what" section


def run_join(config: dict):
    """The tap without `clari_users`, which shares GET /users with the join: the join's own cost shows."""
    from tap_calls.tap import TapCalls

    catalog = TapCalls(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] != "clari_users"
    return run_tap(config, catalog=catalog)


sandbox = sandbox_fixture(seed=13, gong_calls=1000, gong_span_days=200, clari_calls=250, clari_span_days=200)


@pytest.fixture(scope="module")
def run(sandbox):
    sandbox.clear_log()
    result = run_join(tap_config(sandbox, days=201))
    return result, list(sandbox.log)


def gong_speakers(monologue: dict) -> dict:
    return {key: monologue[key] for key in GONG_SPEAKER_FIELDS}


def clari_speakers(line: dict) -> dict:
    return {key: line[key] for key in CLARI_SPEAKER_FIELDS}


# ------------------------------------------------------------------------------------------------------ Gong


def test_every_gong_monologue_carries_its_party(sandbox, run):
    result, _ = run
    records = result.records["transcripts"]
    assert len(records) > 500
    seen = Counter()
    for record in records:
        call = sandbox.gong.get(record["call_id"])
        truth = sandbox.gong.expected_speakers(call)
        served = sandbox.gong.transcript(call)
        got = [gong_speakers(m) for m in record["transcript"]]
        assert got == truth, record["call_id"]
        assert [m["speaker_id"] for m in record["transcript"]] == [m["speakerId"] for m in served]
        for monologue, expected in zip(record["transcript"], truth, strict=True):
            if call.imported:
                seen["imported call"] += 1
            elif expected["speaker_party_id"] is None:
                seen["no party, null id" if monologue["speaker_id"] is None else "no party"] += 1
            else:
                seen[f"party {expected['speaker_affiliation']}"] += 1
    # The sandbox made every case; the comparison above covered each of them.
    assert all(seen[k] for k in ("imported call", "no party", "no party, null id", "party Internal")), seen
    assert seen["party External"] and seen["party Unknown"], seen


def test_gong_speakers_equal_the_emitted_parties(run):
    """The same answer from the tap's own output: the `parties` row with that speaker id, or nulls."""
    result, _ = run
    parties = {}
    for party in result.records["parties"]:
        if party["speaker_id"] is not None:
            parties[(party["call_id"], party["speaker_id"])] = party
    matched = unmatched = 0
    for record in result.records["transcripts"]:
        for monologue in record["transcript"]:
            party = parties.get((record["call_id"], monologue["speaker_id"]))
            if party is None:
                unmatched += 1
                assert set(gong_speakers(monologue).values()) == {None}
            else:
                matched += 1
                assert gong_speakers(monologue) == {
                    key: party[src] for key, src in GONG_SPEAKER_FIELDS.items()
                }
    assert matched and unmatched


# ----------------------------------------------------------------------------------------------------- Clari


def test_every_clari_line_resolves_across_the_three_lists(sandbox, run):
    result, _ = run
    records = result.records["clari_calls"]
    seen = Counter()
    for record in records:
        truth = sandbox.clari.expected_speakers(record["id"])
        if truth is None:
            assert record["transcript"] is None
            continue
        got = [clari_speakers(line) for line in record["transcript"]]
        assert got == truth, record["id"]
        served = sandbox.clari.details(sandbox.clari.get(record["id"]))
        joined = {id_key(p["personId"]) for p in served["joinedParticipants"]}
        listed = {id_key(p["personId"]) for p in served["users"] + served["externalParticipants"]}
        users = {u["id"] for u in sandbox.clari.users}
        user_of = {id_key(u["personId"]): u["userId"] for u in served["users"]}
        for line, expected in zip(record["transcript"], truth, strict=True):
            pid = id_key(line["person_id"])
            seen[f"person_id {type(line['person_id']).__name__}"] += 1
            if expected["speaker_affiliation"] == "Internal":
                known = user_of[pid] in users
                seen[
                    "internal, /users name"
                    if known
                    else f"internal, joined name={bool(expected['speaker_name'])}"
                ] += 1
                seen["internal, also joined"] += known and pid in joined
            elif expected["speaker_affiliation"] == "External":
                seen["external, only joined" if pid not in listed else "external, invited"] += 1
                seen["external, also joined"] += pid in joined and pid in listed
            else:
                seen["nobody"] += 1
    wanted = [
        "person_id int",
        "person_id str",
        "internal, /users name",
        "internal, joined name=True",
        "internal, joined name=False",
        "internal, also joined",
        "external, invited",
        "external, also joined",
        "external, only joined",
        "nobody",
    ]
    assert all(seen[k] for k in wanted), seen


def test_clari_ids_typed_both_ways_and_joined_participants_pass_through(sandbox, run):
    result, _ = run
    kinds = Counter()
    for record in result.records["clari_calls"]:
        served = sandbox.clari.details(sandbox.clari.get(record["id"]))
        # As Clari sends them, keys in snake_case, the person id in the type it came in.
        assert record["joined_participants"] == [
            {("person_id" if k == "personId" else k): v for k, v in p.items()}
            for p in served["joinedParticipants"]
        ]
        for key in ("users", "external_participants", "joined_participants"):
            kinds.update(f"{key} {type(p['person_id']).__name__}" for p in record[key])
    # A number in one list and its string in another, on the same calls: the join above still held.
    assert all(
        kinds[f"{k} {t}"]
        for k in ("users", "external_participants", "joined_participants")
        for t in ("int", "str")
    ), kinds


def test_schemas_declare_the_speaker_fields_and_records_match(run):
    result, _ = run
    monologue = result.schemas["transcripts"]["properties"]["transcript"]["items"]["properties"]
    assert set(GONG_SPEAKER_FIELDS) <= set(monologue)
    line = result.schemas["clari_calls"]["properties"]["transcript"]["items"]["properties"]
    assert set(CLARI_SPEAKER_FIELDS) <= set(line)
    assert "joined_participants" in result.schemas["clari_calls"]["properties"]
    for stream in ("transcripts", "clari_calls"):
        validator = jsonschema.Draft202012Validator(
            result.schemas[stream], format_checker=jsonschema.FormatChecker()
        )
        for record in result.records[stream]:
            validator.validate(record)


# -------------------------------------------------------------------------------------------------- requests


def without_speakers(monkeypatch) -> None:
    """The tap as it was before issue 13: no join, no GET /users."""
    monkeypatch.setattr(gong_module, "add_gong_speakers", lambda monologues, parties: monologues)
    monkeypatch.setattr(clari_module, "add_clari_speakers", lambda record, names: record["transcript"])
    monkeypatch.setattr(ClariCallsStream, "user_names", lambda self: None)


def counts(log) -> Counter:
    return Counter((r.source, r.method, r.path) for r in log if r.source in ("gong", "clari"))


def test_the_join_costs_no_gong_request_and_one_clari_users_request(sandbox, run, monkeypatch):
    result, log = run
    with_join = counts(log)
    # Gong: within the contract's floor of a first backfill (tests.harness.first_backfill_floor).
    # (The quota goal is about the call streams: the streams beyond calls have their own endpoints.)
    gong_calls = sum(
        n
        for (source, _, path), n in with_join.items()
        if source == "gong" and path in ("/v2/calls/extensive", "/v2/calls/transcript")
    )
    start = parse_datetime(tap_config(sandbox, days=201)["start_date"])
    floor = first_backfill_floor(sandbox, start)
    assert gong_calls <= floor + 6, (gong_calls, floor)
    # Clari: one /call-details per listed call (a 404 included), and one GET /users in the run.
    details = [r.query["id"][0] for r in log if r.source == "clari" and r.path == "/call-details"]
    assert len(details) == len(set(details))
    assert set(details) == set(result.ids("clari_calls")) | (sandbox.clari.details_missing & set(details))
    assert with_join[("clari", "GET", "/users")] == 1
    # The same run without the join: the very same requests, but for that one GET /users.
    without_speakers(monkeypatch)
    sandbox.clear_log()
    plain = run_join(tap_config(sandbox, days=201))
    without = counts(sandbox.log)
    assert sorted(plain.ids("transcripts", "call_id")) == sorted(result.ids("transcripts", "call_id"))
    assert "speaker_name" not in plain.records["transcripts"][0]["transcript"][0]
    assert with_join - without == Counter({("clari", "GET", "/users"): 1})
    assert without - with_join == Counter()


def test_a_failed_users_request_leaves_internal_names_null_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(SourceStream, "backoff_base_seconds", 0.01)
    monkeypatch.setattr(SourceStream, "backoff_cap_seconds", 0.05)
    with Sandbox(seed=5, gong_calls=0, clari_calls=60, clari_span_days=60) as sb:
        sb.inject("clari", "status", path="/users", count=100, code=503)
        config = tap_config(sb, "clari", days=61)
        with caplog.at_level(logging.WARNING):
            result = run_join(config)
        users_requests = [r for r in sb.log if r.path == "/users"]
    assert len(users_requests) == SourceStream.max_tries  # retried as any request, then given up once
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "GET /users" in r.getMessage() and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    internal = external = 0
    for record in result.records["clari_calls"]:
        truth = sb.clari.expected_speakers(record["id"]) or []
        for line, expected in zip(record["transcript"] or [], truth, strict=True):
            if expected["speaker_affiliation"] == "Internal":
                internal += 1
                assert clari_speakers(line) == {**expected, "speaker_name": None}
            else:
                external += expected["speaker_affiliation"] == "External"
                assert clari_speakers(line) == expected
    assert internal and external


# ---------------------------------------------------------------------------------------------- stream maps


def readme_stream_maps() -> dict:
    """The `stream_maps` of the README's "Who said what" example (the first JSON block of that section)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Who said what", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert block, "README's Who said what section has no ```json block"
    return json.loads(block.group(1))["stream_maps"]


def test_the_readme_stream_map_hashes_every_email(sandbox, run):
    """The SDK's mapper runs inside the tap: the README's map, given as config, leaves no email in clear."""
    result, _ = run
    maps = readme_stream_maps()
    hashed = run_tap(tap_config(sandbox, days=201, stream_maps=maps))

    def sha(value):
        return None if value is None else hashlib.sha256(value.encode()).hexdigest()

    plain = {r["call_id"]: r for r in result.records["transcripts"]}
    assert len(hashed.records["transcripts"]) == len(plain)
    for record in hashed.records["transcripts"]:
        before = plain[record["call_id"]]["transcript"]
        assert [m["speaker_email_address"] for m in record["transcript"]] == [
            sha(m["speaker_email_address"]) for m in before
        ]
        assert [
            {k: v for k, v in m.items() if k != "speaker_email_address"} for m in record["transcript"]
        ] == [{k: v for k, v in m.items() if k != "speaker_email_address"} for m in before]
    plain_clari = {r["id"]: r for r in result.records["clari_calls"]}
    for record in hashed.records["clari_calls"]:
        before = plain_clari[record["id"]]["transcript"]
        if before is None:
            assert record["transcript"] is None
            continue
        assert [m["speaker_email"] for m in record["transcript"]] == [sha(m["speaker_email"]) for m in before]
    # The row streams (issue 31): each row's speaker email hashed, nothing else changed.
    for stream, index, field in (
        ("transcript_sentences", "sentence_index", "speaker_email_address"),
        ("clari_transcript_lines", "line_index", "speaker_email"),
    ):
        plain_rows = {(r["call_id"], r[index]): r for r in result.records[stream]}
        assert len(hashed.records[stream]) == len(plain_rows) > 0, stream
        assert any(r[field] for r in plain_rows.values()), stream
        for row in hashed.records[stream]:
            before = plain_rows[(row["call_id"], row[index])]
            assert row[field] == sha(before[field])
            assert {k: v for k, v in row.items() if k != field} == {
                k: v for k, v in before.items() if k != field
            }
    plain_parties = {(p["call_id"], p["id"]): p for p in result.records["parties"]}
    for party in hashed.records["parties"]:
        assert party["email_address"] == sha(plain_parties[(party["call_id"], party["id"])]["email_address"])
    # No speaker email in clear anywhere in the mapped transcripts (the people lists of clari_calls and the
    # parties' CRM context keep theirs: the README says so).
    emails = {m["speaker_email_address"] for r in result.records["transcripts"] for m in r["transcript"]}
    emails |= {m["speaker_email"] for r in result.records["clari_calls"] for m in r["transcript"] or ()}
    emails.discard(None)
    # Gong names a participant it has no name for by their address: that is a name, and stays.
    emails -= {p["name"] for p in result.records["parties"]}
    mapped = [hashed.records["transcripts"], [p["email_address"] for p in hashed.records["parties"]]]
    mapped += [r["transcript"] for r in hashed.records["clari_calls"]]
    mapped += [hashed.records["transcript_sentences"], hashed.records["clari_transcript_lines"]]
    out = json.dumps(mapped)
    assert emails and not [email for email in emails if email in out]
