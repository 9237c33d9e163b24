"""`meltano run tap-calls target-jsonl` end to end, from the repo's own meltano.yml, against a live sandbox.

A real Meltano (its own venv), the tap and target-jsonl in the plugin venvs `meltano install` made, and the
sandbox's HTTP server in this process (so its request log and ground truth are at hand). The first run must
deliver exactly the sandbox's records; the second run must resume from the state Meltano saved: fewer Gong
requests, nothing asked before `bookmark - lookback_days`, and calls published late inside the look-back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from tests.harness import requests_to, sandbox_fixture

STREAMS = ("calls", "parties", "transcripts", "users", "clari_calls")
KEYS = {
    "calls": ("id",),
    "parties": ("call_id", "id"),
    "transcripts": ("call_id",),
    "users": ("id",),
    "clari_calls": ("id",),
}
STATE_ID = "sandbox:tap-calls-to-target-jsonl"
LOOKBACK = timedelta(days=7)  # the tap's default lookback_days
SECRETS = (Sandbox.GONG_ACCESS_KEY_SECRET, Sandbox.CLARI_API_PASSWORD)
# Far faster than the production caps (3/s, 10/s), still rate-limited; the sandbox enforces no limit here
# (the range of interaction_stats alone is a request per day).
RATES = {"TAP_CALLS_REQUESTS_PER_SECOND": "200", "TAP_CALLS_CLARI_REQUESTS_PER_SECOND": "200"}


def read_output(folder: Path, streams: tuple[str, ...] = STREAMS) -> dict[str, list[dict]]:
    out = {}
    for stream in streams:
        path = folder / f"{stream}.jsonl"
        assert path.exists(), (
            f"target-jsonl wrote no {path.name} (files: {sorted(p.name for p in folder.iterdir())})"
        )
        with path.open(encoding="utf-8") as fh:
            out[stream] = [json.loads(line) for line in fh if line.strip()]
    return out


def keys_of(stream: str, records: list[dict]) -> list[tuple]:
    return [tuple(r[k] for k in KEYS[stream]) for r in records]


def assert_unique_keys(records: dict[str, list[dict]]) -> None:
    for stream, recs in records.items():
        keys = keys_of(stream, recs)
        assert len(keys) == len(set(keys)), f"{stream}: {len(keys) - len(set(keys))} duplicate primary keys"


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def read_state(workdir: Path) -> dict:
    files = sorted((workdir / "state").rglob("state.json"))
    assert files, f"Meltano saved no state under {workdir / 'state'}"
    text = files[0].read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text, "a secret leaked into the saved state"
    return json.loads(text)


@dataclass
class FirstRun:
    sb: Sandbox
    workdir: Path
    start: datetime
    records: dict[str, list[dict]]
    gong_requests: int
    output: str


sandbox = sandbox_fixture(seed=1, gong_calls=300, gong_span_days=400, clari_calls=120)


@pytest.fixture(scope="module")
def first_run(meltano, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    workdir = tmp_path_factory.mktemp("meltano-jsonl")
    # A start inside the sandbox's 400 days, so the range is checked too.
    start = sandbox.now - timedelta(days=300)
    env = meltano.env(workdir, sandbox, start, TARGET_JSONL_DESTINATION_PATH=str(workdir / "out1"), **RATES)
    sandbox.clear_log()
    proc = meltano("--environment=sandbox", "run", "tap-calls", "target-jsonl", env=env)
    return FirstRun(
        sb=sandbox,
        workdir=workdir,
        start=start,
        records=read_output(workdir / "out1"),
        gong_requests=len(requests_to(sandbox, "gong")),
        output=proc.stdout + proc.stderr,
    )


def test_first_run_delivers_exactly_the_sandbox_records(first_run: FirstRun) -> None:
    sb, recs = first_run.sb, first_run.records
    expected = sb.gong.expected_calls(first_run.start, None)  # non-private calls from start_date on
    assert expected, "the sandbox has no calls in range: the test proves nothing"
    assert sorted(r["id"] for r in recs["calls"]) == sorted(c.id for c in expected)

    expected_parties = {(c.id, p["id"]) for c in expected for p in sb.gong.parties(c)}
    assert len(recs["parties"]) == sum(len(sb.gong.parties(c)) for c in expected)
    assert set(keys_of("parties", recs["parties"])) == expected_parties

    with_transcript = sorted(c.id for c in expected if c.has_transcript)
    assert sorted(r["call_id"] for r in recs["transcripts"]) == with_transcript

    assert sorted(r["id"] for r in recs["users"]) == sorted(sb.gong.user_ids())

    clari = sb.clari.expected_calls(modified_gt=first_run.start)
    assert sorted(r["id"] for r in recs["clari_calls"]) == sorted(c["id"] for c in clari)

    assert_unique_keys(recs)
    started = {c.id: c.started for c in expected}
    for r in recs["calls"]:
        assert parse_dt(r["started"]) == started[r["id"]], r["id"]
    for r in recs["transcripts"]:
        assert parse_dt(r["call_started"]) == started[r["call_id"]], r["call_id"]


def test_first_run_delivers_every_transcript_row(first_run: FirstRun) -> None:
    """Transcripts as rows through target-jsonl (which validates each record against its SCHEMA): every
    sentence and line of every call, as the sandbox served them, keys unique."""
    sb = first_run.sb
    rows = read_output(first_run.workdir / "out1", ("transcript_sentences", "clari_transcript_lines"))
    sentences: dict[str, list[dict]] = {}
    for row in sorted(rows["transcript_sentences"], key=lambda r: r["sentence_index"]):
        sentences.setdefault(row["call_id"], []).append(row)
    expected = {
        c.id: sb.gong.expected_sentences(c)
        for c in sb.gong.expected_calls(first_run.start, None)
        if c.has_transcript
    }
    assert expected and sorted(sentences) == sorted(expected)
    for call_id, got in sentences.items():
        assert [{k: v for k, v in r.items() if k != "call_started"} for r in got] == expected[call_id]
    lines: dict[str, list[dict]] = {}
    for row in sorted(rows["clari_transcript_lines"], key=lambda r: r["line_index"]):
        lines.setdefault(row["call_id"], []).append(row)
    expected_lines = {
        c["id"]: truth
        for c in sb.clari.expected_calls(modified_gt=first_run.start)
        if (truth := sb.clari.expected_lines(c["id"])) is not None
    }
    assert expected_lines and lines == expected_lines
    for stream, key in (("transcript_sentences", "sentence_index"), ("clari_transcript_lines", "line_index")):
        keys = [(r["call_id"], r[key]) for r in rows[stream]]
        assert len(keys) == len(set(keys)), stream


def test_no_secret_in_meltano_output(first_run: FirstRun) -> None:
    for secret in SECRETS:
        assert secret not in first_run.output


def test_state_saved_by_meltano_holds_bookmarks_only(first_run: FirstRun) -> None:
    state = read_state(first_run.workdir)
    bookmarks = state["completed"]["singer_state"]["bookmarks"]
    assert {"calls", "clari_calls"} <= set(bookmarks)
    calls_bookmark = parse_dt(bookmarks["calls"]["replication_key_value"])
    # The newest call emitted: everything up to it arrived, and the look-back counts from it.
    assert calls_bookmark == max(c.started for c in first_run.sb.gong.expected_calls(first_run.start, None))


def test_second_run_resumes_from_saved_state(meltano, first_run: FirstRun) -> None:
    sb, workdir = first_run.sb, first_run.workdir
    bookmark = parse_dt(
        read_state(workdir)["completed"]["singer_state"]["bookmarks"]["calls"]["replication_key_value"]
    )

    # Published late: two calls inside the look-back (with transcripts), one long before it.
    late = sb.gong.add_calls(
        2, bookmark - timedelta(days=5), bookmark - timedelta(days=1), has_transcript=True
    )
    too_old = sb.gong.add_calls(1, bookmark - timedelta(days=40), bookmark - timedelta(days=39))
    newer = sb.gong.add_calls(1, bookmark + timedelta(seconds=1), datetime.now(UTC), is_private=False)

    # The full look-back (lookback_interval_hours 0: due on every run; by default once a day).
    env = meltano.env(
        workdir,
        sb,
        first_run.start,
        TARGET_JSONL_DESTINATION_PATH=str(workdir / "out2"),
        TAP_CALLS_LOOKBACK_INTERVAL_HOURS="0",
        **RATES,
    )
    sb.clear_log()
    meltano("--environment=sandbox", "run", "tap-calls", "target-jsonl", env=env)
    served = requests_to(sb, "gong")
    # No Clari call changed: none is fetched or emitted again (a re-read costs what is new).
    assert not (workdir / "out2" / "clari_calls.jsonl").exists()
    assert not requests_to(sb, "clari", "/call-details")
    recs = read_output(workdir / "out2", tuple(s for s in STREAMS if s != "clari_calls"))

    assert 0 < len(served) < first_run.gong_requests, (len(served), first_run.gong_requests)
    # Nothing before bookmark - lookback_days is asked for again.
    floor = bookmark - LOOKBACK
    for s in served:
        since = ((s.body or {}).get("filter") or {}).get("fromDateTime") if isinstance(s.body, dict) else None
        if since:
            assert parse_dt(since) >= floor - timedelta(seconds=1), (s.path, since, floor)

    call_ids = {r["id"] for r in recs["calls"]}
    for call in late:
        assert call.id in call_ids, f"late call {call.id} ({call.started}) inside the look-back was missed"
    assert too_old[0].id not in call_ids, "a call older than the look-back was read again"
    transcript_ids = {r["call_id"] for r in recs["transcripts"]}
    assert {c.id for c in late} <= transcript_ids
    party_keys = set(keys_of("parties", recs["parties"]))
    assert {(c.id, p["id"]) for c in late for p in sb.gong.parties(c)} <= party_keys

    # Only the look-back window came again (plus the full-table users).
    expected_window = sb.gong.expected_calls(floor, None)
    assert call_ids == {c.id for c in expected_window}
    assert len(recs["users"]) == len(sb.gong.user_ids())
    assert_unique_keys(recs)

    # And the bookmark moved on to the newest call emitted.
    new_bookmark = read_state(workdir)["completed"]["singer_state"]["bookmarks"]["calls"][
        "replication_key_value"
    ]
    assert newer[0].id in call_ids
    assert parse_dt(new_bookmark) == newer[0].started > bookmark


def test_meltano_config_redacts_secrets(meltano, sandbox: Sandbox, tmp_path: Path) -> None:
    env = meltano.env(tmp_path, sandbox, sandbox.now)
    proc = meltano("--environment=sandbox", "config", "list", "tap-calls", env=env)
    text = proc.stdout + proc.stderr
    for secret in SECRETS:
        assert secret not in text
    assert "access_key_secret" in text
    assert "(redacted)" in text
    assert "Group 3: clari_api_key, clari_api_password" in text


def test_tap_calls_jsonl_sends_target_jsonl_no_activate_version(
    meltano, sandbox: Sandbox, tmp_path: Path
) -> None:
    """meltano.yml's `tap-calls-jsonl` (tap-calls with ACTIVATE_VERSION off, for target-jsonl, which warns
    "Unknown message type" for each one) delivers the full-table streams without a single such message."""
    env = meltano.env(
        tmp_path,
        sandbox,
        sandbox.now - timedelta(days=30),
        TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "out"),
        **RATES,
    )
    proc = meltano("--environment=sandbox", "run", "tap-calls-jsonl", "target-jsonl", env=env)
    output = proc.stdout + proc.stderr
    assert "ACTIVATE_VERSION" not in output
    users = read_output(tmp_path / "out", ("users",))["users"]
    assert sorted(u["id"] for u in users) == sorted(sandbox.gong.user_ids())
    assert (tmp_path / "out" / "workspaces.jsonl").exists() and (tmp_path / "out" / "trackers.jsonl").exists()
