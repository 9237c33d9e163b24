"""Never a silent wrong answer (issue 27), over real HTTP against the sandbox.

- Credentials that stop working during a run (Gong's bare 401/403 "Access denied" on endpoints that answered
  before) stop the run: non-zero exit, one line naming the credential settings, never a scope, the last
  committed STATE the last message.
- A key without the scope of one stream skips that stream whether or not Gong names the scope; a key that can
  read none of the selected Gong streams ends with the credentials line and a non-zero exit; `--test` ends
  with one line listing the streams skipped for scope.
- A refused stream sends no more requests: exactly one to its endpoint (the sandbox's own count).
- Ids are strings at every depth, also when Gong sends them as JSON numbers.
- One WARNING per skipped entry without an id: nothing is deduplicated on a missing key.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from calls_sandbox import Sandbox
from calls_sandbox.gong_more import SCOPES
from tap_calls.keys import is_id_field
from tests.harness import parse, run_tap, selecting, tap_config

# The Gong streams a key without scopes is tried on: one of each kind (windowed, full table, day).
SOME_GONG = (
    "calls",
    "parties",
    "transcripts",
    "users",
    "trackers",
    "interaction_stats",
    "user_daily_activity",
)


def run_cli(tmp_path: Path, config: dict, *args: str, streams: tuple[str, ...] | None = None):
    """`tap-calls --config FILE [--catalog FILE] ARGS` as a user runs it."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_calls", "--config", str(config_file)]
    if streams is not None:
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps(selecting(config, streams)))
        command += ["--catalog", str(catalog_file)]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def lines(result, level: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if f"| {level}" in line]


def config_for(sb: Sandbox, **settings) -> dict:
    return tap_config(sb, "gong", days=20, **settings)


# 1. Credentials that stop working mid-run -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["key", "token"])
def test_credentials_revoked_mid_run_stop_the_run_naming_the_credentials(tmp_path, kind):
    """An incremental run: Gong accepts its first 6 requests, then answers "Access denied" everywhere (a
    revoked key, an expired token): exit 1, one ERROR line naming the credential setting, no scope anywhere,
    no stream "skipped", and the last message is the last STATE the run committed."""
    with Sandbox(seed=31, gong_calls=300, gong_span_days=30, clari_calls=0) as sb:
        config = config_for(sb, start_date=(sb.now - timedelta(days=30)).isoformat())
        if kind == "token":
            del config["access_key"], config["access_key_secret"]
            config["access_token"] = sb.GONG_ACCESS_TOKEN
        first = run_cli(
            tmp_path, {**config, "end_date": (sb.now - timedelta(days=10)).isoformat()}, streams=SOME_GONG
        )
        assert first.returncode == 0, first.stderr[-3000:]
        sb.clear_log()
        sb.gong_revoke_after = sb.gong_accepted + 6
        result = run_cli(tmp_path, config, "--state", str(state_file(tmp_path, first)), streams=SOME_GONG)
        statuses = [r.status for r in sb.log if r.source == "gong"]
    assert len([s for s in statuses if s not in (401, 403)]) == 6  # the requests before the revocation
    assert {401, 403} & set(statuses)
    assert result.returncode == 1, result.stderr[-3000:]
    errors = lines(result, "ERROR")
    assert len(errors) == 1, result.stderr[-3000:]
    assert "stopped accepting the credentials" in errors[0]
    expected = "pass a current access_token" if kind == "token" else "access_key and access_key_secret"
    assert expected in errors[0]
    assert "scope" not in result.stderr.lower()
    assert "skipped" not in result.stderr
    assert (
        Sandbox.GONG_ACCESS_TOKEN not in result.stderr and Sandbox.GONG_ACCESS_KEY_SECRET not in result.stderr
    )
    run = parse(result.stdout)
    assert (
        run.messages[-1]["type"] == "STATE"
    )  # the last committed one (written again if records followed it)


def state_file(tmp_path: Path, result) -> Path:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(parse(result.stdout).states[-1]))
    return path


def test_credentials_revoked_after_a_stream_finished_still_stop_the_run(tmp_path):
    """The calls were read in full with working credentials; the day stream's first request is refused
    without a scope (the key was revoked meanwhile): that is the credentials, not a missing scope."""
    with Sandbox(seed=32, gong_calls=120, gong_span_days=10, clari_calls=0) as sb:
        config = config_for(sb)
        first = run_cli(tmp_path, config, streams=("calls",))
        assert first.returncode == 0, first.stderr[-2000:]
        sb.gong_revoke_after = sb.gong_accepted + 1  # the next run's first request only is accepted
        result = run_cli(tmp_path, config, streams=("users", "interaction_stats"))
    assert result.returncode == 1, result.stderr[-3000:]
    errors = lines(result, "ERROR")
    assert len(errors) == 1, result.stderr[-3000:]
    assert "the credentials" in errors[0] and "access_key and access_key_secret" in errors[0]
    assert "scope" not in result.stderr.lower()


# 2. Scopes: one stream, every stream, --test -----------------------------------------------------------------


@pytest.mark.parametrize("denial", ["named", "plain"])
def test_a_missing_scope_skips_one_stream_and_sends_it_one_request(tmp_path, denial):
    """Gong refuses POST /v2/stats/interaction (naming the scope, or a bare "Access denied" as Basic keys
    get): `interaction_stats` is skipped with one WARNING naming the scope, the others complete, exit 0, and
    exactly one request went to the refused endpoint (none of its other days was sent)."""
    with Sandbox(
        seed=33,
        gong_calls=150,
        gong_span_days=20,
        clari_calls=0,
        gong_missing_scopes={"api:stats:interaction"},
        gong_scope_denial=denial,
    ) as sb:
        result = run_cli(
            tmp_path, config_for(sb), streams=("calls", "interaction_stats", "user_daily_activity")
        )
        counts = sb.stats()
    assert result.returncode == 0, result.stderr[-3000:]
    assert counts.get(("gong", "/v2/stats/interaction", 401)) == 1
    assert not [k for k in counts if k[1] == "/v2/stats/interaction" and k[2] != 401]
    warnings = [w for w in lines(result, "WARNING") if "interaction_stats" in w]
    assert len(warnings) == 1 and "api:stats:interaction" in warnings[0]
    run = parse(result.stdout)
    assert run.records["calls"] and run.records["user_daily_activity"]
    assert not run.records["interaction_stats"]


def test_a_key_without_any_scope_the_selection_needs_ends_with_the_credentials_line(tmp_path):
    with Sandbox(
        seed=34, gong_calls=100, gong_span_days=10, clari_calls=0, gong_missing_scopes=set(SCOPES.values())
    ) as sb:
        result = run_cli(tmp_path, config_for(sb), streams=SOME_GONG)
    assert result.returncode == 1, result.stderr[-3000:]
    errors = lines(result, "ERROR")
    assert len(errors) == 1, result.stderr[-3000:]
    assert "Gong refused every selected stream" in errors[0] and "access_key" in errors[0]
    assert not parse(result.stdout).records
    assert parse(result.stdout).messages[-1]["type"] == "STATE"


def test_connection_test_ends_with_the_streams_skipped_for_scope(tmp_path):
    missing = {"api:stats:interaction", "api:library:read"}
    with Sandbox(
        seed=35, gong_calls=100, gong_span_days=10, clari_calls=0, gong_missing_scopes=missing
    ) as sb:
        result = run_cli(tmp_path, config_for(sb), "--test")
    assert result.returncode == 0, result.stderr[-3000:]
    last = [line for line in result.stderr.splitlines() if "| " in line][-1]
    assert "--test: streams skipped for scope: " in last
    listed = last.split("streams skipped for scope: ")[1].split(";")[0]
    assert listed == (
        "interaction_stats (api:stats:interaction), library_folder_calls (api:library:read), "
        "library_folders (api:library:read)"
    )


def test_connection_test_with_every_scope_missing_fails_naming_the_credentials(tmp_path):
    with Sandbox(
        seed=36, gong_calls=50, gong_span_days=10, clari_calls=0, gong_missing_scopes=set(SCOPES.values())
    ) as sb:
        result = run_cli(tmp_path, config_for(sb), "--test")
    assert result.returncode == 1
    errors = lines(result, "ERROR")
    assert len(errors) == 1 and "Gong refused every selected stream" in errors[0]
    assert "--test: streams skipped for scope: " in lines(result, "WARNING")[-1]


def test_connection_test_with_every_scope_names_none_skipped(tmp_path):
    with Sandbox(seed=37, gong_calls=50, gong_span_days=10, clari_calls=0) as sb:
        result = run_cli(
            tmp_path, config_for(sb, start_date=(sb.now - timedelta(days=5)).isoformat()), "--test"
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--test: no stream skipped for scope" in result.stderr


# 4. Ids are strings at every depth ---------------------------------------------------------------------------


def numbers_in_id_fields(value, path: str = "") -> list[str]:
    """Paths of numbers (not booleans) under an id field, at any depth."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in numbers_in_id_fields(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in numbers_in_id_fields(v, f"{path}[]")]
    name = path.rsplit(".", 1)[-1].removesuffix("[]")
    if isinstance(value, int | float) and not isinstance(value, bool) and is_id_field(name):
        return [path]
    return []


def test_ids_gong_sends_as_numbers_come_out_as_strings_at_every_depth():
    """The sandbox sends every all-digit Gong id as a JSON number (the spec's int64): every record of every
    Gong stream validates against its own schema (strings where it says string), and the ids are the
    sandbox's, digit for digit (19-digit ids are beyond a float's precision)."""
    with Sandbox(seed=38, gong_calls=200, gong_span_days=20, clari_calls=0, gong_numeric_ids=True) as sb:
        config = config_for(sb, start_date=(sb.now - timedelta(days=21)).isoformat())
        run = run_tap(config)
        served = sb.log
    numeric = [r for r in served if r.path == "/v2/calls/extensive" and r.status == 200]
    assert numeric, "the sandbox answered"
    gong = [s for s in run.records if not s.startswith("clari")]
    assert len(gong) == 14, sorted(run.records)  # every Gong stream but call_ids (run_tap leaves it out)
    for stream in gong:
        validator = jsonschema.Draft4Validator(run.schemas[stream])
        for record in run.records[stream]:
            validator.validate(record)
            assert numbers_in_id_fields(record) == [], (stream, numbers_in_id_fields(record)[:5])
    calls = sb.gong.expected_calls(sb.now - timedelta(days=21), None)
    assert sorted(run.ids("calls")) == sorted(c.id for c in calls)
    parties = {
        (c.id, p["id"], p.get("userId"), p.get("speakerId"))
        for c in calls
        for p in sb.gong.parties(c.id) or ()
    }
    assert {(r["call_id"], r["id"], r["user_id"], r["speaker_id"]) for r in run.records["parties"]} == parties
    nested = {(r["id"], p["id"], p["user_id"]) for r in run.records["calls"] for p in r["parties"] or ()}
    assert nested == {(c, p, u) for c, p, u, _ in parties}
    speakers = [s for r in run.records["calls"] for s in (r["interaction"] or {}).get("speakers") or ()]
    assert speakers and all(isinstance(s["id"], str) for s in speakers)
    assert any(isinstance(s.get("user_id"), str) for s in speakers)
    monologues = [m for r in run.records["transcripts"] for m in r["transcript"]]
    assert any(m["speaker_name"] for m in monologues), "numeric speaker ids still join their parties"
    assert sorted(run.ids("users")) == sorted(sb.gong.user_ids())


# 5. Nothing deduplicated on a missing key ----------------------------------------------------------------------


def test_two_users_without_an_id_are_two_warnings(caplog):
    with Sandbox(seed=39, gong_calls=20, gong_span_days=5, gong_users=130, clari_calls=0) as sb:
        for index in (5, 110):  # one on each page of GET /v2/users (100 a page)
            sb.gong.users[index] = {k: v for k, v in sb.gong.users[index].items() if k != "id"}
        with caplog.at_level(logging.WARNING):
            run = run_tap(config_for(sb), catalog=selecting(config_for(sb), {"users"}))
        expected = sorted(u["id"] for u in sb.gong.users if "id" in u)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "users: skipped a record from Gong without id" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert sorted(run.ids("users")) == expected and len(expected) == 128


def test_a_plain_refusal_of_the_workspace_list_names_its_scope(caplog):
    """A Basic key without api:workspaces:read gets a bare "Access denied" on GET /v2/workspaces: folders are
    listed once without a workspace, and the line names the workspaces scope, not the library's."""
    with (
        Sandbox(
            seed=40,
            gong_calls=30,
            gong_span_days=5,
            clari_calls=0,
            gong_missing_scopes={"api:workspaces:read"},
            gong_scope_denial="plain",
        ) as sb,
        caplog.at_level(logging.INFO),
    ):
        run = run_tap(config_for(sb), catalog=selecting(config_for(sb), {"library_folders"}))
    assert sorted(run.ids("library_folders")) == sorted(f["id"] for f in sb.gong_more.folders)
    lines_ = [r.getMessage() for r in caplog.records if "no workspace list" in r.getMessage()]
    assert len(lines_) == 1 and "api:workspaces:read" in lines_[0]
