"""Gong OAuth with refresh, over real HTTP against the sandbox's token endpoint (calls_sandbox/oauth.py).

The contract's "Third release" > "OAuth with refresh": single-use refresh tokens rotated into `oauth_token_store`,
one refresh per expiry for the whole run (early, or once on a 401), the store winning over a regenerated config,
`invalid_grant` everywhere ending in one line, no secret in any output.

Expiry without sleeping: `Sandbox(oauth_token_uses=N)` expires an access token after N API requests (the tap cannot
see that coming, so each expiry costs exactly one 401); `Sandbox(oauth_expires_in=S)` expires it after S seconds,
and the tap's own rate cap (`requests_per_second`) makes a run span several lifetimes.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from calls_sandbox.oauth import OAuthIssuer
from tests.harness import FAST_GONG, Run, parse, run_tap, selecting

STREAMS = {"calls", "parties", "transcripts", "users"}
SPAN_DAYS = 400


def oauth_config(sb: Sandbox, store: Path, **settings: object) -> dict:
    config = {
        **sb.gong_oauth_config(str(store)),
        "requests_per_second": FAST_GONG,
        "start_date": (sb.now - timedelta(days=SPAN_DAYS)).isoformat(),
    }
    config.update(settings)
    return config


def check_complete(sb: Sandbox, run: Run) -> None:
    """Every call, transcript and user the sandbox holds, each once."""
    start = sb.now - timedelta(days=SPAN_DAYS)
    truth = sb.gong.expected_calls(start, datetime.now(UTC))
    assert sorted(run.ids("calls")) == sorted(c.id for c in truth)
    assert sorted(run.ids("transcripts", "call_id")) == sorted(c.id for c in truth if c.has_transcript)
    assert sorted(run.ids("users")) == sorted(sb.gong.user_ids())


def statuses(sb: Sandbox, source: str = "gong") -> Counter[int]:
    return Counter(s.status for s in sb.log if s.source == source)


def run_cli(config_file: Path, *, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tap_calls", "--config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ERROR" in line or "Traceback" in line]


def test_a_run_longer_than_two_token_lifetimes_refreshes_ahead_of_each_expiry(tmp_path):
    lifetime = 2
    with Sandbox(seed=21, gong_calls=600, clari_calls=0, oauth_expires_in=lifetime) as sb:
        # Gong's own 3 requests a second over about 20 requests: the run outlives several 2-second tokens.
        config = oauth_config(sb, tmp_path / "store.json", requests_per_second=3)
        run = run_tap(config, catalog=selecting(config, STREAMS))
        check_complete(sb, run)
        api = [s for s in sb.log if s.source == "gong"]
        span = max(s.t_start for s in api) - min(s.t_start for s in api)
        assert span > 2 * lifetime, f"the run lasted {span:.1f} s, not more than two token lifetimes"
        # Requests more than two lifetimes apart cannot share a token: three tokens at least, each refreshed
        # ahead of its expiry (never a refused refresh token), and at most one 401 per expiry (a request that
        # was on the wire as its token ran out).
        assert sb.oauth.refreshes >= 3
        assert sb.oauth.refused == 0
        assert statuses(sb, "oauth") == {200: sb.oauth.refreshes}
        assert statuses(sb)[401] <= sb.oauth.refreshes - 1
        assert set(statuses(sb)) <= {200, 401}


def test_each_expiry_costs_one_401_and_one_refresh_shared_by_all_workers(tmp_path):
    store = tmp_path / "store.json"
    with Sandbox(seed=22, gong_calls=1200, clari_calls=0, oauth_token_uses=6) as sb:
        # The store is written before a new access token is used: when Gong first sees a token, the store
        # holds it, or a token issued after it (a refresh since).
        seen: set[str] = set()
        unsaved: list[str] = []
        original_use = sb.oauth.use

        def use(token: str) -> bool:
            if token not in seen:
                seen.add(token)
                held = json.loads(store.read_text())["access_token"]
                issued = sb.oauth.access_tokens()  # oldest first
                if issued.index(held) < issued.index(token):
                    unsaved.append(token)
            return original_use(token)

        sb.oauth.use = use  # type: ignore[method-assign]
        config = oauth_config(sb, store, requests_per_second=20)
        run = run_tap(config, catalog=selecting(config, STREAMS))
        check_complete(sb, run)
        assert len(seen) == sb.oauth.refreshes and unsaved == []
        expiries = len(sb.oauth.expired_tokens)
        assert expiries >= 3, "the run outlived more than two tokens"
        # One refresh per expiry for the whole run (plus the first), whichever worker met it first.
        assert sb.oauth.refreshes == 1 + expiries
        # Every 401 was an expired token, and each was retried (the records are complete); no other failure.
        assert statuses(sb)[401] == sb.oauth.expired
        assert set(statuses(sb)) <= {200, 401}
        assert sb.oauth.refused == 0


def test_the_same_config_twice_in_a_row_the_store_wins(tmp_path, caplog):
    store = tmp_path / "state" / "gong-oauth.json"  # a directory that does not exist yet
    with Sandbox(seed=23, gong_calls=200, clari_calls=0) as sb:
        config = oauth_config(sb, store)
        configured = config["oauth_refresh_token"]
        catalog = selecting(config, STREAMS)
        first = run_tap(dict(config), catalog=catalog)
        check_complete(sb, first)
        assert sb.oauth.refreshes == 1
        assert configured not in sb.oauth.valid_refresh_tokens(), "Gong's refresh tokens are single-use"
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        assert stat.S_IMODE(Path(f"{store}.lock").stat().st_mode) == 0o600
        assert [p.name for p in store.parent.iterdir() if p.name.endswith(".tmp")] == []
        held = json.loads(store.read_text())
        assert held["refresh_token"] in sb.oauth.valid_refresh_tokens()
        assert held["api_base_url"] == sb.gong_url

        # Meltano regenerates the same config (with the spent refresh token): the store's token is used.
        second = run_tap(dict(config), catalog=catalog)
        check_complete(sb, second)
        assert sb.oauth.refused == 0
        assert sb.oauth.refreshes == 1, "the store's access token is still fresh: no refresh needed"

        # Once the stored access token is refused, the store's refresh token (not the config's) refreshes it.
        sb.oauth.expire_all()
        with caplog.at_level(logging.INFO, logger="tap-calls"):
            third = run_tap(dict(config), catalog=catalog)
        check_complete(sb, third)
        assert sb.oauth.refreshes == 2 and sb.oauth.refused == 0
        assert statuses(sb)[401] >= 1
        assert json.loads(store.read_text())["refresh_token"] in sb.oauth.valid_refresh_tokens()
        kinds = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Gong credentials:")]
        assert kinds == [
            "Gong credentials: OAuth with refresh (oauth_client_id, oauth_client_secret, "
            "oauth_refresh_token, oauth_token_store)"
        ]


def test_a_spent_token_in_config_and_store_is_one_line_and_exit_1(tmp_path):
    store = tmp_path / "store.json"
    with Sandbox(seed=24, gong_calls=50, clari_calls=0) as sb:
        config = oauth_config(sb, store)
        run_tap(dict(config), catalog=selecting(config, {"users"}))
        stored = json.loads(store.read_text())["refresh_token"]
        sb.oauth.spend(stored)  # e.g. another copy of the pipeline used it
        sb.oauth.expire_all()
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        sb.clear_log()
        result = run_cli(config_file)
        assert result.returncode == 1
        lines = error_lines(result)
        assert len(lines) == 1, result.stderr[-3000:]
        assert "oauth_token_store" in lines[0] and str(store) in lines[0] and "Re-authorize" in lines[0]
        # The store's token, read again once, then the configured one (it differs): both refused.
        assert sb.oauth.refused == 2
        assert statuses(sb, "oauth") == {400: 2}
        assert [m for m in result.stdout.splitlines() if '"RECORD"' in m] == []


def test_a_new_authorization_in_config_replaces_a_refused_store(tmp_path):
    store = tmp_path / "store.json"
    with Sandbox(seed=25, gong_calls=50, clari_calls=0) as sb:
        config = oauth_config(sb, store)
        run_tap(dict(config), catalog=selecting(config, {"users"}))
        sb.oauth.spend(json.loads(store.read_text())["refresh_token"])
        sb.oauth.expire_all()
        reauthorized = {**config, "oauth_refresh_token": sb.oauth.authorize()}
        run = run_tap(reauthorized, catalog=selecting(config, {"users"}))
        assert sorted(run.ids("users")) == sorted(sb.gong.user_ids())
        assert sb.oauth.refused == 1 and sb.oauth.refreshes == 2
        assert json.loads(store.read_text())["refresh_token"] in sb.oauth.valid_refresh_tokens()


def test_two_processes_share_one_store(tmp_path):
    store = tmp_path / "store.json"
    lifetime = 2
    with Sandbox(seed=26, gong_calls=600, clari_calls=0, oauth_expires_in=lifetime) as sb:
        # Each process at Gong's 3 requests a second: both outlive several 2-second tokens.
        config = oauth_config(sb, store, requests_per_second=3)
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps(selecting(config, STREAMS)))
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        args = [
            sys.executable,
            "-m",
            "tap_calls",
            "--config",
            str(config_file),
            "--catalog",
            str(catalog_file),
        ]
        procs = [
            subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
            )
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=300) for proc in procs]
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-3000:]
            check_complete(sb, parse(out))
        api = [s for s in sb.log if s.source == "gong"]
        span = max(s.t_start for s in api) - min(s.t_start for s in api)
        assert span > 2 * lifetime
        # Neither process ever presented a refresh token the other had spent; one refresh per expiry between
        # the two of them (a process whose token is due adopts the one the other just wrote to the store):
        # about one per 1.5 s (the 0.5 s margin of a 2 s token), not one per process.
        assert sb.oauth.refused == 0
        assert 3 <= sb.oauth.refreshes <= 1 + span / (lifetime * 0.75) + 1
        assert statuses(sb)[401] <= sb.oauth.refreshes - 1
        assert set(statuses(sb)) <= {200, 401}


def test_a_401_mid_run_is_one_refresh_and_a_retry(tmp_path):
    with Sandbox(seed=27, gong_calls=300, clari_calls=0) as sb:
        config = oauth_config(sb, tmp_path / "store.json")
        sb.inject("gong", "status", path="/v2/calls/transcript", code=401)
        run = run_tap(config, catalog=selecting(config, STREAMS))
        check_complete(sb, run)
        assert sb.oauth.refreshes == 2
        transcript_statuses = Counter(s.status for s in sb.log if s.path == "/v2/calls/transcript")
        assert transcript_statuses[401] == 1
        assert statuses(sb)[401] == 1


def test_a_401_after_the_refresh_still_stops_the_run_with_one_line(tmp_path):
    with Sandbox(seed=28, gong_calls=50, clari_calls=0) as sb:
        config = oauth_config(sb, tmp_path / "store.json")
        sb.inject("gong", "status", code=401, count=1000)  # a revoked grant: every request refused
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        result = run_cli(config_file)
        assert result.returncode == 1
        lines = error_lines(result)
        assert len(lines) == 1, result.stderr[-3000:]
        assert "Gong" in lines[0] and "oauth_client_id" in lines[0]
        # The first token, then one renewal for the first 401; the renewed token refused too: no more refreshes.
        assert sb.oauth.refreshes == 2


def test_no_secret_in_any_output_at_debug(tmp_path, caplog):
    store = tmp_path / "store.json"
    with Sandbox(seed=29, gong_calls=300, clari_calls=0, oauth_token_uses=5) as sb:
        config = oauth_config(sb, store, requests_per_second=200, api_url="https://us-4242.api.gong.io")
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        result = run_cli(config_file, env={"TAP_CALLS_LOGLEVEL": "DEBUG"})
        assert result.returncode == 0, result.stderr[-3000:]
        assert "DEBUG" in result.stderr
        assert sb.oauth.refreshes >= 3
        # In-process with every logger at DEBUG (urllib3 logs each request URL, the refresh token's included).
        with caplog.at_level(logging.DEBUG):
            run = run_tap(dict(config), catalog=selecting(config, STREAMS))
        assert any("generate-customer-token" in r.getMessage() for r in caplog.records)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        states = json.dumps(run.states) + "\n".join(
            line for line in result.stdout.splitlines() if '"STATE"' in line
        )
        secrets = [OAuthIssuer.CLIENT_SECRET, *sb.oauth.all_tokens()]
        assert len(secrets) > 8
        for secret in secrets:
            assert secret not in result.stdout
            assert secret not in result.stderr
            assert secret not in logged
            assert secret not in states
        # A configured api_url that differs from the token's api_base_url_for_customer: one WARNING, not used.
        warnings = [
            line for line in result.stderr.splitlines() if "api_url https://us-4242.api.gong.io" in line
        ]
        assert len(warnings) == 1 and "WARNING" in warnings[0]
        assert all(s.path != "/v2/users" or s.source == "gong" for s in sb.log)
        assert stat.S_IMODE(store.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("oauth_client_secret", "oauth_client_secret"),
        ("oauth_token_store", "oauth_token_store"),
        ("oauth_refresh_token", "oauth_refresh_token"),
    ],
)
def test_an_incomplete_oauth_config_is_one_line_before_any_request(tmp_path, drop, named):
    with Sandbox(seed=30, gong_calls=10, clari_calls=0) as sb:
        config = oauth_config(sb, tmp_path / "store.json")
        del config[drop]
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        result = run_cli(config_file)
        assert result.returncode == 1
        lines = error_lines(result)
        assert len(lines) == 1 and named in lines[0], result.stderr[-2000:]
        assert sb.log == []


def test_meltano_runs_twice_with_its_regenerated_config(meltano, tmp_path):
    """`meltano run` writes the tap's config from its settings on every run (the spent refresh token included):
    the second run works because the store, outside .meltano/, carries the rotated token."""
    store = tmp_path / "tokens" / "gong-oauth.json"
    with Sandbox(seed=31, gong_calls=120, clari_calls=0) as sb:
        settings = {
            f"TAP_CALLS_{name.upper()}": str(value)
            for name, value in sb.gong_oauth_config(str(store)).items()
        }
        outputs = []
        for run in (1, 2):
            env = meltano.env(
                tmp_path / "meltano",
                sb,
                sb.now - timedelta(days=SPAN_DAYS),
                TARGET_JSONL_DESTINATION_PATH=str(tmp_path / f"out{run}"),
                TAP_CALLS_REQUESTS_PER_SECOND="200",  # a request a day of interaction_stats over 400 days
                TAP_CALLS_CLARI_API_KEY="",
                TAP_CALLS_CLARI_API_PASSWORD="",
                **settings,
            )
            sb.oauth.expire_all()  # each run needs a refresh: the second one with the store's refresh token
            proc = meltano("--environment=sandbox", "run", "tap-calls", "target-jsonl", env=env)
            outputs.append(proc.stdout + proc.stderr)
            users = (tmp_path / f"out{run}" / "users.jsonl").read_text().splitlines()
            assert sorted(json.loads(line)["id"] for line in users) == sorted(sb.gong.user_ids())
        assert sb.oauth.refreshes == 2 and sb.oauth.refused == 0
        assert all("Gong credentials: OAuth with refresh" in out for out in outputs)
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        state = "".join(p.read_text() for p in (tmp_path / "meltano" / "state").rglob("*.json"))
        for secret in [OAuthIssuer.CLIENT_SECRET, *sb.oauth.all_tokens()]:
            assert all(secret not in out for out in outputs)
            assert secret not in state


def test_a_401_naming_a_missing_scope_is_no_expiry(tmp_path):
    with Sandbox(seed=32, gong_calls=50, clari_calls=0, gong_missing_scopes={"api:stats:scorecards"}) as sb:
        config = oauth_config(
            sb, tmp_path / "store.json", start_date=(sb.now - timedelta(days=20)).isoformat()
        )
        run = run_tap(config, catalog=selecting(config, {"users", "answered_scorecards"}))
        assert sorted(run.ids("users")) == sorted(sb.gong.user_ids())
        assert run.records["answered_scorecards"] == []
        assert sb.oauth.refreshes == 1, "no refresh for a 401 that names a scope"
        assert statuses(sb)[401] >= 1
