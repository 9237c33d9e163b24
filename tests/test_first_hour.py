"""The first hour of a new user (issue 14), through the real `tap-calls` CLI against the sandbox over HTTP.

- Every mistake a user can fix (a wrong key in `--test`, a config, state or catalog file that is missing,
  empty or not JSON, a bad stream map) ends in ONE error line naming the culprit, exit code 1, no traceback,
  in every command (`--about`, `--discover`, `--test`, a sync).
- Surprises that used to be silent are one WARNING each and the run goes on: an unknown setting name, a
  state the tap can only partly use, a range with nothing to read, a catalog selecting no stream.
- Bookmarks of streams a run does not sync are carried unchanged into every STATE.
- A stream map on a deselected stream does not stop the others (singer-sdk #1942).
- A fatal stop (a spent Gong quota) ends with the last committed STATE as the last message, so that
  `meltano run tap-calls target-jsonl` (target-jsonl 0.1.4) saves the progress, and the next run resumes.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from tap_calls.tap import TapCalls
from tests.harness import CALL_ID_LISTS, sandbox_fixture

REPO = Path(__file__).resolve().parents[1]
TAP = str(Path(sys.executable).parent / "tap-calls")
_OWN_PREFIXES = ("TAP_CALLS_", "TARGET_JSONL_", "TARGET_POSTGRES_", "MELTANO_")
CALLS_PATH = "/v2/calls/extensive"


def iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(extra)
    return env


def tap(*args: str, cwd: Path, env: dict[str, str] | None = None, module: str | None = None):
    cmd = [sys.executable, "-m", module] if module else [TAP]
    proc = subprocess.run(
        [*cmd, *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def log_lines(proc: subprocess.CompletedProcess, level: str) -> list[str]:
    return [line for line in proc.stderr.splitlines() if f"| {level}" in line]


def one_error(proc: subprocess.CompletedProcess) -> str:
    errors = log_lines(proc, "ERROR")
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert len(errors) == 1, proc.stderr[-2000:]
    return errors[0]


def messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def records(msgs: list[dict], stream: str) -> list[dict]:
    return [m["record"] for m in msgs if m["type"] == "RECORD" and m["stream"] == stream]


def states(msgs: list[dict]) -> list[dict]:
    return [m["value"] for m in msgs if m["type"] == "STATE"]


sb = sandbox_fixture(seed=14, gong_calls=150, gong_span_days=60, clari_calls=15, clari_span_days=60)


@pytest.fixture
def files(tmp_path: Path, sb: Sandbox):
    """Writes JSON files into tmp_path; `config` is a working config for the module's sandbox."""

    def write(name: str, value=None, *, text: str | None = None) -> str:
        path = tmp_path / name
        path.write_text(text if text is not None else json.dumps(value), encoding="utf-8")
        return str(path)

    write.config = {
        **sb.gong_config(),
        **sb.clari_config(),
        "start_date": iso(sb.now - timedelta(days=61)),
        "requests_per_second": 50,
        "clari_requests_per_second": 50,
    }
    write.dir = tmp_path
    return write


def catalog_selecting(tmp_path: Path, config_path: str, selected: set[str]) -> dict:
    proc = tap("--config", config_path, "--discover", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    catalog = json.loads(proc.stdout)
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in selected
    return catalog


# 1. User mistakes: one line, exit 1, no traceback, in every command ----------------------------------------


@pytest.mark.parametrize(
    "command", [["--about"], ["--discover"], ["--test"], []], ids=["about", "discover", "test", "sync"]
)
@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("missing.json", None, "config file '{path}' does not exist"),
        ("empty.json", "", "config file '{path}' is empty"),
        ("broken.json", '{"access_key": "x",', "config file '{path}' is not valid JSON"),
        ("list.json", "[1, 2]", "config file '{path}' holds a JSON array, not an object"),
    ],
    ids=["missing", "empty", "not-json", "not-object"],
)
def test_bad_config_file_is_one_line_in_every_command(files, command, name, text, expected) -> None:
    path = str(files.dir / name) if text is None else files(name, text=text)
    proc = tap("--config", path, *command, cwd=files.dir)
    assert expected.format(path=path) in one_error(proc)
    assert proc.stdout == ""


def test_test_with_a_wrong_key_is_one_line(files, sb: Sandbox) -> None:
    config = files("config.json", {**files.config, "access_key_secret": "wrong"})
    proc = tap("--config", config, "--test", cwd=files.dir)
    line = one_error(proc)
    assert "Gong refused the credentials" in line
    assert "access_key_secret" in line
    assert "wrong" not in proc.stderr  # the secret itself is never printed


def test_bad_setting_value_in_test_is_one_line(files) -> None:
    config = files("config.json", {**files.config, "start_date": "yesterday"})
    assert "start_date 'yesterday' is not a date-time" in one_error(
        tap("--config", config, "--test", cwd=files.dir)
    )


@pytest.mark.parametrize(
    ("option", "name", "text", "expected"),
    [
        ("--state", "missing.json", None, "state file '{path}' does not exist"),
        ("--state", "broken.json", "{", "state file '{path}' is not valid JSON"),
        ("--catalog", "missing.json", None, "catalog file '{path}' does not exist"),
        ("--catalog", "empty.json", " \n", "catalog file '{path}' is empty"),
        ("--catalog", "broken.json", "{]", "catalog file '{path}' is not valid JSON"),
        ("--catalog", "object.json", '{"bookmarks": {}}', "catalog file '{path}' is not a Singer catalog"),
        ("--catalog", "entries.json", '{"streams": [{"schema": {}}]}', "streams[0] has no tap_stream_id"),
    ],
)
def test_bad_state_or_catalog_file_is_one_line(files, option, name, text, expected) -> None:
    config = files("config.json", files.config)
    path = str(files.dir / name) if text is None else files(name, text=text)
    proc = tap("--config", config, option, path, cwd=files.dir)
    assert expected.format(path=path) in one_error(proc)
    assert proc.stdout == ""


def test_bad_stream_map_is_one_line(files) -> None:
    config = files(
        "config.json", {**files.config, "stream_maps": {"calls": {"title": "no_such_function(title)"}}}
    )
    line = one_error(tap("--config", config, cwd=files.dir))
    assert "stream_maps" in line


def test_empty_state_file_is_no_state_yet(files, sb: Sandbox) -> None:
    config = files("config.json", files.config)
    state = files("state.json", text="")
    proc = tap("--config", config, "--state", state, cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(f"state file '{state}' is empty: no state yet" in line for line in log_lines(proc, "WARNING"))
    expected = sb.gong.expected_calls(sb.now - timedelta(days=61), None)
    assert sorted(r["id"] for r in records(messages(proc.stdout), "calls")) == sorted(c.id for c in expected)


# 2. Silent surprises become WARNINGs; the run goes on -----------------------------------------------------


def test_unknown_setting_warns_with_the_closest_name(files) -> None:
    config = files("config.json", {**files.config, "start_data": "2026-01-01T00:00:00Z"})
    proc = tap("--config", config, "--discover", cwd=files.dir)
    assert proc.returncode == 0
    warnings = log_lines(proc, "WARNING")
    assert any("unknown setting 'start_data' is ignored; did you mean 'start_date'?" in w for w in warnings)

    # The same for an environment variable with --config ENV.
    env = clean_env(TAP_CALLS_ACCESS_KEY="k", TAP_CALLS_ACCESS_KEY_SECRET="s", TAP_CALLS_LOOKBACK_DAZE="3")
    proc = tap("--config", "ENV", "--discover", cwd=files.dir, env=env)
    assert proc.returncode == 0
    assert any(
        "TAP_CALLS_LOOKBACK_DAZE is ignored; did you mean TAP_CALLS_LOOKBACK_DAYS?" in w
        for w in log_lines(proc, "WARNING")
    )


def test_state_the_tap_can_partly_use_warns_and_uses_the_rest(files, sb: Sandbox) -> None:
    bookmark = sb.now - timedelta(days=20)
    retired = {"replication_key": "started", "replication_key_value": "2020-01-01T00:00:00Z"}
    state = {
        "bookmarks": {
            "calls": {"replication_key": "started", "replication_key_value": iso(bookmark)},
            "parties": {"replication_key": "call_started", "replication_key_value": iso(bookmark)},
            "transcripts": {"replication_key": "call_started", "replication_key_value": iso(bookmark)},
            # (A row stream without a bookmark would be backfilled from start_date, and `calls` with it.)
            "transcript_sentences": {
                "replication_key": "call_started",
                "replication_key_value": iso(bookmark),
            },
            "clari_calls": {"replication_key": "modified", "replication_key_value": iso(bookmark)},
            "cals": retired,
        },
        "something": 1,
    }
    config = files("config.json", files.config)
    sb.clear_log()
    proc = tap("--config", config, "--state", files("state.json", state), cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = "\n".join(log_lines(proc, "WARNING"))
    assert "the bookmark of clari_calls is not used: it is for replication key 'modified'" in warnings
    assert "bookmarks of streams this tap does not have: cals (did you mean calls?)" in warnings
    assert "top-level keys 'something'" in warnings

    msgs = messages(proc.stdout)
    # calls used its bookmark: nothing before bookmark - lookback_days (7) was asked for.
    floor = bookmark - timedelta(days=7)
    expected = {c.id for c in sb.gong.expected_calls(floor, None)}
    assert {r["id"] for r in records(msgs, "calls")} == expected
    # clari_calls could not use its bookmark: it read from start_date.
    clari = sb.clari.expected_calls(modified_gt=sb.now - timedelta(days=61))
    assert {r["id"] for r in records(msgs, "clari_calls")} == {c["id"] for c in clari}
    # The unknown stream's bookmark is carried unchanged.
    assert all(s["bookmarks"]["cals"] == retired for s in states(msgs))


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ([1, 2], "the state is a JSON array, not a Singer state"),
        ({"calls": {"replication_key_value": "2026-01-01T00:00:00Z"}}, 'the state has no "bookmarks"'),
        ({"singer_state": {"bookmarks": {}}}, "Meltano's wrapper of a Singer state"),
        (
            {"bookmarks": {"calls": {"replication_key": "started", "replication_key_value": "soon"}}},
            "not an RFC 3339",
        ),
    ],
    ids=["array", "no-bookmarks", "meltano-wrapper", "bad-value"],
)
def test_state_of_another_shape_warns(files, state, expected) -> None:
    # A start_date a day back: the run is short, the point is the warning and exit 0.
    config = files("config.json", {**files.config, "start_date": iso(datetime.now(UTC) - timedelta(days=1))})
    proc = tap("--config", config, "--state", files("state.json", state), cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(expected in w for w in log_lines(proc, "WARNING")), proc.stderr[-2000:]


def test_start_date_leaving_nothing_to_read_warns(files, sb: Sandbox) -> None:
    """One WARNING per windowed stream (each knows its exact range), with RFC 3339 dates."""
    future = "2099-01-01T00:00:00Z"
    config = files("config.json", {**files.config, "start_date": future})
    proc = tap("--config", config, cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [w for w in log_lines(proc, "WARNING") if "nothing to read" in w]
    for stream in ("calls", "clari_calls"):
        mine = [w for w in warnings if f"| {stream}: nothing to read" in w]
        assert len(mine) == 1, proc.stderr[-2000:]
        assert f"starts at {future}" in mine[0]
        assert re.search(r"not before its end \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mine[0]), mine[0]
    assert len(warnings) == 2, warnings
    msgs = messages(proc.stdout)
    assert not [
        m for m in msgs if m["type"] == "RECORD" and m["stream"] in {"calls", "parties", "clari_calls"}
    ]


def test_bookmark_window_leaving_nothing_to_read_warns(files, sb: Sandbox) -> None:
    end = sb.now - timedelta(days=30)
    bookmark = "2099-01-01T00:00:00Z"
    state = {"bookmarks": {"calls": {"replication_key": "started", "replication_key_value": bookmark}}}
    catalog = catalog_selecting(files.dir, files("config.json", files.config), {"calls"})
    config = files("config2.json", {**files.config, "end_date": iso(end)})
    proc = tap(
        "--config",
        config,
        "--state",
        files("state.json", state),
        "--catalog",
        files("cat.json", catalog),
        cwd=files.dir,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [w for w in log_lines(proc, "WARNING") if "nothing to read" in w]
    assert len(warnings) == 1, proc.stderr[-2000:]
    assert "calls: nothing to read: the range starts at 2098-12-" in warnings[0]
    assert f"not before its end {iso(end)}" in warnings[0]
    assert not records(messages(proc.stdout), "calls")


def test_catalog_selecting_no_stream_warns(files) -> None:
    config = files("config.json", files.config)
    catalog = catalog_selecting(files.dir, config, set())
    proc = tap("--config", config, "--catalog", files("cat.json", catalog), cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [w for w in log_lines(proc, "WARNING") if "selects no stream" in w]
    assert len(warnings) == 1
    assert not [m for m in messages(proc.stdout) if m["type"] == "RECORD"]


def test_bookmarks_of_streams_not_synced_are_carried_into_every_state(files, sb: Sandbox) -> None:
    """Clari not configured, transcripts deselected, a stream the tap no longer has: all three carried."""
    gong_only = {k: v for k, v in files.config.items() if not k.startswith("clari_")}
    config = files("config.json", gong_only)
    catalog = catalog_selecting(files.dir, config, {"calls", "parties", "users"})
    carried = {
        "clari_calls": {
            "replication_key": "last_modified_time",
            "replication_key_value": "2026-01-02T03:04:05Z",
        },
        "transcripts": {"replication_key": "call_started", "replication_key_value": "2000-01-01T00:00:00Z"},
        "retired_stream": {"replication_key": "x", "replication_key_value": 1},
    }
    state = files("state.json", {"bookmarks": carried})
    proc = tap("--config", config, "--catalog", files("cat.json", catalog), "--state", state, cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    msgs = messages(proc.stdout)
    assert records(msgs, "calls"), "nothing synced: the test proves nothing"
    assert not records(msgs, "transcripts")
    all_states = states(msgs)
    assert len(all_states) >= 2
    for value in all_states:
        for name, bookmark in carried.items():
            assert value["bookmarks"][name] == bookmark, (name, value["bookmarks"].get(name))
    assert "calls" in all_states[-1]["bookmarks"]


# 4. Stream maps of a deselected stream ---------------------------------------------------------------------


def test_stream_map_on_a_deselected_stream_does_not_stop_the_others(files, sb: Sandbox) -> None:
    config = files(
        "config.json",
        {
            **files.config,
            "stream_maps": {"parties": {"email_address": "md5(email_address) if email_address else None"}},
        },
    )
    catalog = catalog_selecting(files.dir, config, {"calls", "transcripts"})
    proc = tap("--config", config, "--catalog", files("cat.json", catalog), cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    msgs = messages(proc.stdout)
    expected = sb.gong.expected_calls(sb.now - timedelta(days=61), None)
    assert expected
    assert sorted(r["id"] for r in records(msgs, "calls")) == sorted(c.id for c in expected)
    with_transcript = sorted(c.id for c in expected if c.has_transcript)
    assert sorted(r["call_id"] for r in records(msgs, "transcripts")) == with_transcript
    assert not records(msgs, "parties")


def test_stream_map_on_a_selected_stream_still_applies(files, sb: Sandbox) -> None:
    config = files("config.json", {**files.config, "stream_maps": {"parties": {"email_address": "'hidden'"}}})
    catalog = catalog_selecting(files.dir, config, {"calls", "parties"})
    proc = tap("--config", config, "--catalog", files("cat.json", catalog), cwd=files.dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parties = records(messages(proc.stdout), "parties")
    assert parties
    assert {p["email_address"] for p in parties} == {"hidden"}


# 5. A fatal stop ends with the last committed STATE --------------------------------------------------------


def test_quota_stop_ends_with_the_last_committed_state(tmp_path: Path) -> None:
    """Small windows (tests/tap_with_small_windows.py), so the quota runs out mid-backfill, mid-window.

    A full backfill here costs about 75 Gong requests; a quota of 45 stops it midway. Windows are read
    concurrently, so whether the earliest one finished before the stop (and a bookmark exists) is up to timing:
    both ways the final STATE is the last committed one and resuming from it loses nothing.
    """
    # Transcripts for 30 % of the calls: the same transcript requests (the tap asks for every listed call),
    # a third of the sentence rows.
    with Sandbox(
        seed=5, gong_calls=3000, gong_span_days=200, transcript_ratio=0.3, clari_calls=0, gong_daily_quota=45
    ) as sandbox:
        start = sandbox.now - timedelta(days=201)
        config = tmp_path / "config.json"
        config.write_text(
            json.dumps({**sandbox.gong_config(), "start_date": iso(start), "requests_per_second": 50})
        )
        # Every stream but the weekly list of existing calls (it would spend the quota first: streams sync in
        # name order, and `call_ids` sorts before `calls`).
        every = {e["tap_stream_id"] for e in catalog_selecting(tmp_path, str(config), set())["streams"]}
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps(catalog_selecting(tmp_path, str(config), every - set(CALL_ID_LISTS))))
        proc = tap(
            "--config",
            str(config),
            "--catalog",
            str(catalog),
            cwd=REPO,
            module="tests.tap_with_small_windows",
        )
        expected = sandbox.gong.expected_calls(start, None)
        line = one_error(proc)
        assert "Gong asks to wait 3600 s" in line and "max_retry_wait_seconds" in line
        msgs = messages(proc.stdout)
        emitted = {r["id"] for r in records(msgs, "calls")}
        assert 0 < len(emitted) < len(expected), (
            "the quota did not stop the backfill midway: the test proves nothing"
        )
        assert msgs[-1]["type"] == "STATE", "the last message is not a STATE"
        final = msgs[-1]["value"]
        assert final == states(msgs)[-1]
        bookmark = final["bookmarks"].get("calls", {}).get("replication_key_value")
        if bookmark is not None:  # every call up to the bookmark was emitted
            missing = [
                c.id
                for c in expected
                if c.started <= datetime.fromisoformat(bookmark) and c.id not in emitted
            ]
            assert not missing, f"{len(missing)} calls up to the final bookmark {bookmark} were never emitted"

        sandbox.gong_daily_quota = None  # the quota is back
        state = tmp_path / "state.json"
        state.write_text(json.dumps(final))
        resumed = tap(
            "--config", str(config), "--state", str(state), cwd=REPO, module="tests.tap_with_small_windows"
        )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = {r["id"] for r in records(messages(resumed.stdout), "calls")}
    lost = {c.id for c in expected} - emitted - again
    assert not lost, f"{len(lost)} calls were never emitted by the stopped run and its resumption"


def test_write_final_state_repeats_the_last_state_when_other_messages_followed(capfdbinary) -> None:
    """The SDK's StateWriter drops a STATE equal to the last one: write_final_state goes around it."""
    from singer_sdk.singerlib import RecordMessage, StateMessage

    from tap_calls.tap import TapCalls

    tap = TapCalls(config={"access_key": "k", "access_key_secret": "s"}, validate_config=False)
    capfdbinary.readouterr()
    state = {
        "bookmarks": {
            "calls": {"replication_key": "started", "replication_key_value": "2026-01-01T00:00:00Z"}
        }
    }
    assert tap.write_final_state() is False  # nothing written yet: nothing to repeat
    tap.write_message(StateMessage(value=state))
    assert tap.write_final_state() is False  # already the last message
    state["bookmarks"]["calls"]["replication_key_value"] = "2026-02-01T00:00:00Z"  # uncommitted progress
    tap.write_message(RecordMessage(stream="calls", record={"id": "1"}))
    assert tap.write_final_state() is True
    lines = [json.loads(line) for line in capfdbinary.readouterr().out.splitlines()]
    assert [m["type"] for m in lines] == ["STATE", "RECORD", "STATE"]
    assert lines[-1]["value"] == lines[0]["value"]
    assert lines[-1]["value"]["bookmarks"]["calls"]["replication_key_value"] == "2026-01-01T00:00:00Z"


def test_quota_stop_keeps_its_progress_under_meltano(meltano, tmp_path: Path) -> None:
    """`meltano run tap-calls target-jsonl` (target-jsonl 0.1.4) stopped by a spent Gong quota mid-backfill,
    then run again once the quota is back: fewer calls requests than a full backfill, every call delivered."""
    # 6,000 calls over 100 days: the calls are read as 6 windows of about 1,000 (the tap's window target),
    # a few at a time, earliest first; the other Gong streams' ranges (a request per day for some) are short.
    # Transcripts for 30 % of the calls: the same transcript requests (the tap asks for every listed call),
    # a third of the sentence rows for target-jsonl to validate.
    with Sandbox(
        seed=3,
        gong_calls=6000,
        gong_span_days=100,
        transcript_ratio=0.3,
        clari_calls=10,
        gong_daily_quota=121,
    ) as sandbox:
        start = sandbox.now - timedelta(days=101)
        expected = {c.id for c in sandbox.gong.expected_calls(start, None)}
        full_backfill_pages = math.ceil(len(expected) / 100)  # Gong pages hold 100 calls at most
        # 10/s: few windows in flight at once, so they finish nearly in order even on a busy machine.
        rates = {"TAP_CALLS_REQUESTS_PER_SECOND": "10", "TAP_CALLS_CLARI_REQUESTS_PER_SECOND": "50"}

        env = meltano.env(
            tmp_path,
            sandbox,
            start,
            TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "out1"),
            # Not the weekly list of existing calls: it sorts before `calls` and would spend the quota first.
            TAP_CALLS__SELECT=json.dumps(
                [f"{name}.*" for name in TapCalls.stream_replication_keys() if name not in CALL_ID_LISTS]
            ),
            **rates,
        )
        first = subprocess.run(
            [meltano.exe, "--environment=sandbox", "run", "tap-calls", "target-jsonl"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = first.stdout + first.stderr
        # A full backfill here costs about 280 Gong requests, 145 of them up to the last calls window (24 for
        # the full-table streams and answered_scorecards synced first, about 120 for calls and transcripts):
        # 121 stop it at about 80 % of the calls, with windows of the range finished (about 4) and
        # unfinished (they are read concurrently).
        assert first.returncode != 0, "the quota did not stop the first run"
        assert "Gong asks to wait 3600 s" in output, output[-3000:]
        saved = json.loads(next((tmp_path / "state").rglob("state.json")).read_text())
        bookmarks = saved["completed"]["singer_state"]["bookmarks"]
        assert "calls" in bookmarks, f"Meltano saved no calls bookmark: {saved}"

        sandbox.gong_daily_quota = None  # the next day
        sandbox.clear_log()
        env["TARGET_JSONL_DESTINATION_PATH"] = str(tmp_path / "out2")
        env["TAP_CALLS_REQUESTS_PER_SECOND"] = "100"  # the order windows finish in no longer matters
        meltano("--environment=sandbox", "run", "tap-calls", "target-jsonl", env=env)
        second_pages = len([s for s in sandbox.log if s.source == "gong" and s.path == CALLS_PATH])

    assert 0 < second_pages < full_backfill_pages, (second_pages, full_backfill_pages)
    delivered = set()
    for out in ("out1", "out2"):
        path = tmp_path / out / "calls.jsonl"
        if path.exists():
            delivered |= {json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()}
        if out == "out1":  # a stop mid-backfill: some calls delivered, not all
            assert 0 < len(delivered) < len(expected), (len(delivered), len(expected))
    assert delivered == expected, (len(expected - delivered), len(delivered - expected))


# 6. `--config ENV` reads a .env in the current directory, not one above the installed package -------------


def test_config_env_reads_the_dotenv_of_the_current_directory_only(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAP_CALLS_CLARI_API_KEY=k\nTAP_CALLS_CLARI_API_PASSWORD=p\n")
    proc = tap("--config", "ENV", "--discover", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    streams = {s["tap_stream_id"] for s in json.loads(proc.stdout)["streams"]}
    assert "clari_calls" in streams and "calls" not in streams  # only Clari is configured, by ./.env

    below = tmp_path / "sub"
    below.mkdir()
    proc = tap("--config", "ENV", "--discover", cwd=below)
    assert proc.returncode == 0, proc.stderr[-2000:]
    streams = {s["tap_stream_id"] for s in json.loads(proc.stdout)["streams"]}
    assert {"calls", "clari_calls"} <= streams  # no source configured: the .env one level up is not read

    # Variables already set win over ./.env (its empty values would leave Clari unconfigured).
    (tmp_path / ".env").write_text("TAP_CALLS_CLARI_API_KEY=\nTAP_CALLS_CLARI_API_PASSWORD=\n")
    env = clean_env(TAP_CALLS_CLARI_API_KEY="k", TAP_CALLS_CLARI_API_PASSWORD="p")
    proc = tap("--config", "ENV", "--discover", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    streams = {s["tap_stream_id"] for s in json.loads(proc.stdout)["streams"]}
    assert "clari_calls" in streams and "calls" not in streams


def test_target_postgres_without_a_password_says_which_settings(tmp_path: Path) -> None:
    """`meltano run tap-calls target-postgres` with host, port, user and database but no password (as the
    `sandbox` environment of meltano.yml sets them): the loader names the settings, without a traceback."""
    loader = REPO / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-calls-postgres"
    assert loader.exists(), "run scripts/setup.sh (meltano install) first"
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "tap_calls"})
    )
    schema = {"type": "SCHEMA", "stream": "calls", "schema": {"properties": {"id": {"type": "string"}}}}
    proc = subprocess.run(
        [str(loader), "--config", str(config)],
        input=json.dumps({**schema, "key_properties": ["id"]}) + "\n",
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "PostgreSQL connection settings are missing" in proc.stderr
    assert "TARGET_POSTGRES_PASSWORD" in proc.stderr
