"""tap_calls.oauth: the token store, the settings rules, and the shared authenticator's refresh timing.

The authenticator tests talk to the sandbox's token endpoint over real HTTP, with the authenticator's clock
injected (no sleeping): "less than 120 s left" is checked at exact instants.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
import requests

from calls_sandbox import Sandbox
from calls_sandbox.oauth import OAuthIssuer
from tap_calls.errors import AuthError, TapCallsError
from tap_calls.oauth import (
    DEFAULT_TOKEN_URL,
    GongOAuthAuthenticator,
    Tokens,
    TokenStore,
    credential_kind,
    oauth_problem,
    refresh_margin,
)

DAY = 86_400


@pytest.fixture(scope="module")
def sb():
    with Sandbox(seed=5, gong_calls=10, clari_calls=0, oauth_expires_in=DAY) as sandbox:
        yield sandbox


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def authenticator(
    sb: Sandbox, store: Path, clock: Clock, refresh_token: str | None = None
) -> GongOAuthAuthenticator:
    return GongOAuthAuthenticator(
        client_id=OAuthIssuer.CLIENT_ID,
        client_secret=OAuthIssuer.CLIENT_SECRET,
        token_url=sb.oauth_token_url,
        store=TokenStore(str(store)),
        configured_refresh_token=refresh_token or sb.oauth.authorize(),
        clock=clock,
    )


# The store ---------------------------------------------------------------------------------------------------


def test_store_round_trip_is_0600_and_leaves_no_temporary_file(tmp_path):
    store = TokenStore(str(tmp_path / "deep" / "store.json"))
    old_umask = os.umask(0)  # even a permissive umask gives 0600
    try:
        with store.locked():
            store.write(Tokens("rt-1", "at-1", 1_900_000_000.0, 86_400.0, "https://us-1.api.gong.io"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["store.json", "store.json.lock"]
    assert store.read() == Tokens("rt-1", "at-1", 1_900_000_000.0, 86_400.0, "https://us-1.api.gong.io")
    held = json.loads(store.path.read_text())
    assert held["expires_at"] == "2030-03-17T17:46:40Z"


def test_store_absent_empty_or_without_refresh_token_holds_nothing(tmp_path):
    store = TokenStore(str(tmp_path / "store.json"))
    assert store.read() is None
    store.path.write_text("")
    assert store.read() is None
    store.path.write_text('{"refresh_token": "", "access_token": "x"}')
    assert store.read() is None


def test_a_store_that_is_not_ours_is_one_line_naming_the_setting(tmp_path):
    store = TokenStore(str(tmp_path / "store.json"))
    store.path.write_text("[1, 2]")
    with pytest.raises(TapCallsError, match=r"^oauth_token_store .*store\.json is not a token store"):
        store.read()


# Settings ----------------------------------------------------------------------------------------------------

OAUTH = {
    "oauth_client_id": "id",
    "oauth_client_secret": "secret",
    "oauth_refresh_token": "rt",
    "oauth_token_store": "gong-oauth.json",
}


def test_precedence_oauth_then_access_token_then_key_pair():
    pair = {"access_key": "k", "access_key_secret": "s"}
    assert credential_kind({**pair, "access_token": "t", **OAUTH}) == "oauth"
    assert credential_kind({**pair, "access_token": "t"}) == "access_token"
    assert credential_kind(pair) == "key_pair"
    assert credential_kind({"oauth_token_url": DEFAULT_TOKEN_URL}) is None


def test_oauth_problem_names_what_is_missing(tmp_path):
    store = str(tmp_path / "store.json")
    assert oauth_problem({**OAUTH, "oauth_token_store": store}) is None
    line = oauth_problem({"oauth_client_id": "id", "oauth_refresh_token": "rt"})
    assert line is not None and "oauth_client_secret, oauth_token_store" in line
    no_token = {**OAUTH, "oauth_token_store": store, "oauth_refresh_token": None}
    assert "oauth_refresh_token is not set" in (oauth_problem(no_token) or "")
    TokenStore(store).write(Tokens("rt-stored"))
    assert oauth_problem(no_token) is None, "a store holding a refresh token is enough"


def test_refresh_margin_is_120_s_or_a_quarter_of_a_short_life():
    assert refresh_margin(DAY) == 120
    assert refresh_margin(None) == 120
    assert refresh_margin(200) == 50


# The authenticator -------------------------------------------------------------------------------------------


def test_refresh_is_a_query_string_post_with_basic_client_auth(sb, tmp_path):
    configured = sb.oauth.authorize()
    auth = authenticator(sb, tmp_path / "store.json", Clock(), configured)
    sb.clear_log()
    token = auth.current_token()
    [served] = [s for s in sb.log if s.source == "oauth"]
    assert served.method == "POST" and served.path == "/oauth2/generate-customer-token"
    assert served.query == {"grant_type": ["refresh_token"], "refresh_token": [configured]}
    assert served.body is None
    assert auth.api_base_url == sb.gong_url
    stored = TokenStore(str(tmp_path / "store.json")).read()
    assert stored is not None and stored.access_token == token
    assert stored.refresh_token != configured and stored.refresh_token in sb.oauth.valid_refresh_tokens()


def test_refreshes_when_less_than_120_seconds_remain(sb, tmp_path):
    clock = Clock()
    auth = authenticator(sb, tmp_path / "store.json", clock)
    first = auth.current_token()
    before = sb.oauth.refreshes
    clock.now += DAY - 121
    assert auth.current_token() == first and sb.oauth.refreshes == before
    clock.now += 2  # 119 s left
    assert auth.current_token() != first and sb.oauth.refreshes == before + 1


def test_workers_hitting_an_expired_token_cause_one_refresh(sb, tmp_path):
    clock = Clock()
    auth = authenticator(sb, tmp_path / "store.json", clock)
    auth.current_token()
    before = sb.oauth.refreshes
    clock.now += DAY
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def worker() -> None:
        barrier.wait()
        tokens.append(auth.current_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sb.oauth.refreshes == before + 1
    assert len(set(tokens)) == 1


def test_another_process_token_in_the_store_is_adopted_not_refreshed_again(sb, tmp_path):
    clock = Clock()
    first = authenticator(sb, tmp_path / "store.json", clock)
    token = first.current_token()
    before = sb.oauth.refreshes
    # A second process with the same (now spent) configured token: the store wins, and its token is fresh.
    second = authenticator(sb, tmp_path / "store.json", clock, refresh_token=first.configured_refresh_token)
    assert second.current_token() == token
    assert sb.oauth.refreshes == before and sb.oauth.refused == 0


def test_a_401_renews_once_per_request_and_only_the_token_it_carried(sb, tmp_path):
    auth = authenticator(sb, tmp_path / "store.json", Clock())
    request = requests.Request("GET", sb.gong_url + "/v2/users").prepare()
    auth.authenticate_request(request)
    before = sb.oauth.refreshes
    assert auth.renew_after_unauthorized(request) is True
    assert sb.oauth.refreshes == before + 1
    assert auth.renew_after_unauthorized(request) is False, "one retry per request"
    stale = requests.Request("GET", sb.gong_url + "/v2/users").prepare()
    stale.headers["Authorization"] = "Bearer an-older-token"
    assert auth.renew_after_unauthorized(stale) is True
    assert sb.oauth.refreshes == before + 1, "a request with an older token just retries with the current one"


def test_spent_everywhere_is_one_line_naming_the_store(sb, tmp_path):
    spent = sb.oauth.authorize()
    sb.oauth.spend(spent)
    auth = authenticator(sb, tmp_path / "store.json", Clock(), spent)
    with pytest.raises(AuthError, match=r"oauth_token_store .*store\.json.*Re-authorize") as caught:
        auth.current_token()
    assert "\n" not in str(caught.value)
    refused = sb.oauth.refused
    with pytest.raises(AuthError):
        auth.current_token()
    assert sb.oauth.refused == refused, "a final refusal is not asked again"


def test_wrong_client_secret_names_the_client_settings(sb, tmp_path):
    auth = GongOAuthAuthenticator(
        client_id=OAuthIssuer.CLIENT_ID,
        client_secret="not-the-client-secret",
        token_url=sb.oauth_token_url,
        store=TokenStore(str(tmp_path / "store.json")),
        configured_refresh_token=sb.oauth.authorize(),
    )
    with pytest.raises(AuthError, match="oauth_client_id and oauth_client_secret"):
        auth.current_token()
