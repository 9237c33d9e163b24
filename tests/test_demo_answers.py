"""The demo's answers (scripts/demo_answers.py, DuckDB over the JSONL files) are the sandbox's ground truth.

The tap runs against the sandbox over real HTTP; its records are written one file per stream, one JSON object a
line, as target-jsonl writes them (twice for `calls`: target-jsonl appends, and a re-read call must count once).
Every answer is then recomputed from the sandbox's own data (the calls' start times, the speakers' talk times,
the trackers' counts, the transcripts and who spoke them) and compared row by row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from scripts import demo_answers as answers
from tests.harness import run_tap, sandbox_fixture, selecting, tap_config

REPO = Path(__file__).resolve().parents[1]
DAYS = 121
STREAMS = {"calls", "transcripts", "users", "clari_calls"}

sandbox = sandbox_fixture(
    seed=30, gong_calls=420, gong_span_days=120, clari_calls=90, clari_span_days=120, gong_users=40
)


@pytest.fixture(scope="module")
def folder(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jsonl")
    config = tap_config(sandbox, days=DAYS)
    run = run_tap(config, catalog=selecting(config, STREAMS))
    for stream in STREAMS:
        assert run.records[stream], f"the tap emitted no {stream}: the test proves nothing"
        rows = run.records[stream] * (2 if stream == "calls" else 1)
        (out / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def start(sb: Sandbox) -> datetime:
    return sb.now - timedelta(days=DAYS)


def monday(dt: datetime) -> date:
    day = dt.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def expected_weeks(sb: Sandbox) -> dict[date, tuple[int, int]]:
    per: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for call in sb.gong.expected_calls(start(sb), None):
        per[monday(call.started)][0] += 1
    for call in sb.clari.expected_calls(modified_gt=start(sb)):
        per[monday(parse(call["time"]))][1] += 1
    return {week: (g, c) for week, (g, c) in per.items()}


def test_calls_per_week_and_source(sandbox: Sandbox, folder: Path) -> None:
    truth = expected_weeks(sandbox)
    newest = max(truth)
    got = answers.calls_per_week(answers.connect(folder), weeks=12)
    assert [w.week for w in got] == [newest - timedelta(weeks=n) for n in range(11, -1, -1)]
    assert [(w.gong, w.clari) for w in got] == [truth.get(w.week, (0, 0)) for w in got]
    # Enough weeks to cover the whole range: every call is counted once, re-read copies included.
    everything = answers.calls_per_week(answers.connect(folder), weeks=30)
    assert sum(w.gong for w in everything) == len(sandbox.gong.expected_calls(start(sandbox), None))
    assert sum(w.clari for w in everything) == len(sandbox.clari.expected_calls(modified_gt=start(sandbox)))


def test_talk_share_per_rep(sandbox: Sandbox, folder: Path) -> None:
    talk: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # user -> call -> seconds
    total: dict[str, float] = {}
    for call in sandbox.gong.expected_calls(start(sandbox), None):
        speakers = sandbox.gong.full_call(call)["interaction"]["speakers"]
        total[call.id] = sum(s["talkTime"] for s in speakers)
        for s in speakers:
            if s.get("userId"):
                talk[s["userId"]][call.id] += s["talkTime"]
    users = {u["id"]: f"{u['firstName']} {u['lastName']}" for u in sandbox.gong.users}
    got = {rep.user_id: rep for rep in answers.talk_share(answers.connect(folder))}
    assert set(got) == set(talk)
    for user_id, calls in talk.items():
        rep = got[user_id]
        assert rep.name == users.get(user_id, user_id)
        assert rep.calls == len(calls)
        assert rep.talk_seconds == pytest.approx(sum(calls.values()))
        assert rep.share == pytest.approx(sum(calls.values()) / sum(total[c] for c in calls))
    ordered = list(got.values())
    assert [r.calls for r in ordered] == sorted((r.calls for r in ordered), reverse=True)


def test_trackers_heard_most(sandbox: Sandbox, folder: Path) -> None:
    heard: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    for call in sandbox.gong.expected_calls(start(sandbox), None):
        for tracker in sandbox.gong.full_call(call)["content"]["trackers"]:
            heard[tracker["name"]] += tracker["count"]
            calls[tracker["name"]] += tracker["count"] > 0
    expected = sorted(((name, n, calls[name]) for name, n in heard.items() if n), key=lambda t: (-t[1], t[0]))
    got = answers.top_trackers(answers.connect(folder))
    assert [(t.name, t.heard, t.calls) for t in got] == expected
    assert len(expected) >= 3


def customer_lines(sb: Sandbox, call: object) -> list[tuple[int, str | None, str]]:
    """The external speakers' sentences of `call`, by time, from the sandbox's transcript and speakers."""
    monologues, speakers = sb.gong.transcript(call), sb.gong.expected_speakers(call)
    lines = [
        (s["start"], who["speaker_name"], s["text"], i, k)
        for i, (m, who) in enumerate(zip(monologues or [], speakers or [], strict=True))
        if who["speaker_affiliation"] == "External"
        for k, s in enumerate(m["sentences"])
    ]
    return [(at, name, text) for at, name, text, _, _ in sorted(lines, key=lambda x: (x[0], x[3], x[4]))]


def expected_customer_call(sb: Sandbox, enough: int) -> tuple[str, list[tuple[int, str | None, str]]]:
    said = {
        c.id: (c.started, customer_lines(sb, c))
        for c in sb.gong.expected_calls(start(sb), None)
        if c.has_transcript
    }
    said = {k: v for k, v in said.items() if v[1]}
    best = max(said, key=lambda k: (len(said[k][1]) >= enough, said[k][0], k))
    return best, said[best][1]


def test_customer_side_of_one_call_from_the_nested_transcripts(sandbox: Sandbox, folder: Path) -> None:
    call_id, lines = expected_customer_call(sandbox, enough=12)
    got_id, title, got = answers.customer_side(answers.connect(folder), enough=12)
    assert got_id == call_id
    assert title == sandbox.gong.full_call(sandbox.gong.get(call_id))["metaData"]["title"]
    assert [(x.at_ms, x.speaker, x.text) for x in got] == lines
    assert len(lines) >= 12 and {name for _, name, _ in lines} - {None}


def test_customer_side_prefers_the_sentence_rows(sandbox: Sandbox, folder: Path, tmp_path: Path) -> None:
    """With transcript_sentences.jsonl (one row per sentence, the contract's fields), the rows are read
    instead of the nested monologues: the same call and lines, whatever the nested file says."""
    rows = []
    for line in (folder / "transcripts.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        sentences = [
            (s["start"], i, k, m, s)
            for i, m in enumerate(record["transcript"])
            for k, s in enumerate(m["sentences"])
        ]
        for index, (_, _, _, m, s) in enumerate(sorted(sentences, key=lambda x: x[:3])):
            rows.append(
                {
                    "call_id": record["call_id"],
                    "call_started": record["call_started"],
                    "sentence_index": index,
                    "start": s["start"],
                    "end": s["end"],
                    "text": s["text"],
                    "speaker_name": m["speaker_name"],
                    "speaker_affiliation": m["speaker_affiliation"],
                }
            )
    for name in ("calls", "users", "clari_calls"):
        (tmp_path / f"{name}.jsonl").symlink_to(folder / f"{name}.jsonl")
    (tmp_path / "transcripts.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "transcript_sentences.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    call_id, lines = expected_customer_call(sandbox, enough=12)
    got_id, _, got = answers.customer_side(answers.connect(tmp_path), enough=12)
    assert got_id == call_id
    assert [(x.at_ms, x.speaker, x.text) for x in got] == lines


def test_the_script_prints_the_answers_as_tables(folder: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_answers.py"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for heading in (
        "Calls per week and source",
        "Talk share per rep",
        "Trackers heard most",
        "customer said",
    ):
        assert heading in out
    connection = answers.connect(folder)
    top = answers.top_trackers(connection)[0]
    assert any(
        line.split()[:1] == top.name.split()[:1] and f"{top.heard:,}" in line for line in out.splitlines()
    )
    newest = answers.calls_per_week(connection)[-1]
    assert f"{newest.week:%Y-%m-%d}  █" in out


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_answers.py"), str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"ERROR: {tmp_path / 'nope'} is not a folder of <stream>.jsonl files"
    ]
