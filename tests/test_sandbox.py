"""Tests of the API sandbox (calls_sandbox) over real HTTP: is it faithful to the reference documents?"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from calls_sandbox import Sandbox
from tests.harness import sandbox_fixture

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
ALL_FIELDS = {
    "context": "Extended",
    "contextTiming": ["Now", "TimeOfCall"],
    "exposedFields": {
        "parties": True,
        "content": {
            k: True
            for k in (
                "structure",
                "topics",
                "trackers",
                "trackerOccurrences",
                "pointsOfInterest",
                "brief",
                "outline",
                "highlights",
                "callOutcome",
                "keyPoints",
            )
        },
        "interaction": {"speakers": True, "video": True, "personInteractionStats": True, "questions": True},
        "collaboration": {"publicComments": True},
        "media": True,
    },
}
EVERYTHING = {"fromDateTime": "2000-01-01T00:00:00Z"}


sb = sandbox_fixture(seed=1, now=NOW, gong_calls=250, clari_calls=120)
# A sandbox of its own, for tests that queue faults or change data.
fresh = sandbox_fixture(scope="function", seed=2, now=NOW, gong_calls=150, clari_calls=60)


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def gong(http, sb, method, path, **kwargs):
    kwargs.setdefault("auth", (Sandbox.GONG_ACCESS_KEY, Sandbox.GONG_ACCESS_KEY_SECRET))
    kwargs.setdefault("timeout", 10)
    return http.request(method, sb.gong_url + path, **kwargs)


def clari(http, sb, path, params=None, **kwargs):
    kwargs.setdefault(
        "headers", {"X-Api-Key": Sandbox.CLARI_API_KEY, "X-Api-Password": Sandbox.CLARI_API_PASSWORD}
    )
    kwargs.setdefault("timeout", 10)
    return http.get(sb.clari_url + path, params=params, **kwargs)


def extensive_pages(http, sb, body):
    pages = []
    body = dict(body)
    while True:
        r = gong(http, sb, "POST", "/v2/calls/extensive", json=body)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json()["records"].get("cursor")
        if cursor is None:
            return pages
        body["cursor"] = cursor


# ---------------------------------------------------------------------------------------------------- Gong auth


def test_gong_auth(http, sb):
    r = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": {}}, auth=None)
    assert r.status_code == 401
    assert r.json()["errors"] == ["Access denied"]
    assert r.json()["requestId"]
    assert r.headers["Content-Type"].startswith("application/json")
    assert (
        gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": {}}, auth=("x", "y")).status_code == 401
    )
    # GET /v2/users answers 403 (§4.2)
    r = gong(http, sb, "GET", "/v2/users", auth=("nope", "nope"))
    assert r.status_code == 403
    assert r.json()["errors"] == ["Access denied"]
    # the OAuth bearer token works as well as the key pair
    headers = {"Authorization": f"Bearer {Sandbox.GONG_ACCESS_TOKEN}"}
    r = gong(http, sb, "GET", "/v2/workspaces", auth=None, headers=headers)
    assert r.status_code == 200
    assert len(r.json()["workspaces"]) == 2
    assert (
        gong(http, sb, "GET", "/v2/workspaces", auth=None, headers={"Authorization": "Bearer x"}).status_code
        == 403
    )


# ---------------------------------------------------------------------------------------------------- Gong paging


def test_extensive_paging_and_cursor_absent_on_last_page(http, sb):
    pages = extensive_pages(http, sb, {"filter": EVERYTHING})
    sizes = [p["records"]["currentPageSize"] for p in pages]
    assert sizes == [100, 100, 50]
    assert [len(p["calls"]) for p in pages] == sizes
    assert [p["records"]["currentPageNumber"] for p in pages] == [0, 1, 2]
    assert all(p["records"]["totalRecords"] == 250 for p in pages)
    assert "cursor" not in pages[-1]["records"]
    ids = [c["metaData"]["id"] for p in pages for c in p["calls"]]
    assert len(ids) == len(set(ids)) == 250
    assert set(ids) == {c.id for c in sb.gong.calls}
    assert all(isinstance(i, str) and i.isdigit() and len(i) <= 19 for i in ids)
    started = [c["metaData"]["started"] for p in pages for c in p["calls"]]
    assert started != sorted(started)  # never chronological
    # metaData only without a content selector
    assert all(set(c) == {"metaData"} for c in pages[0]["calls"])


def test_cursor_in_post_query_string_is_ignored(http, sb):
    first = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING}).json()
    cursor = first["records"]["cursor"]
    again = gong(
        http, sb, "POST", "/v2/calls/extensive", params={"cursor": cursor}, json={"filter": EVERYTHING}
    )
    assert again.json()["records"]["currentPageNumber"] == 0
    assert [c["metaData"]["id"] for c in again.json()["calls"]] == [
        c["metaData"]["id"] for c in first["calls"]
    ]
    second = gong(
        http, sb, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING, "cursor": cursor}
    ).json()
    assert second["records"]["currentPageNumber"] == 1
    assert not {c["metaData"]["id"] for c in second["calls"]} & {c["metaData"]["id"] for c in first["calls"]}


def test_cursor_bound_to_the_request(http, sb):
    first = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING}).json()
    other = {"filter": {"fromDateTime": "2001-01-01T00:00:00Z"}, "cursor": first["records"]["cursor"]}
    r = gong(http, sb, "POST", "/v2/calls/extensive", json=other)
    assert r.status_code == 400
    assert r.json()["errors"] == ["Invalid cursor"]
    r = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING, "cursor": "garbage"})
    assert r.status_code == 400


def test_expired_cursor(http):
    with Sandbox(seed=1, now=NOW, gong_calls=150, clari_calls=0, cursor_ttl=0.2) as sb:
        first = gong(http, sb, "POST", "/v2/calls/transcript", json={"filter": EVERYTHING}).json()
        time.sleep(0.3)
        r = gong(
            http,
            sb,
            "POST",
            "/v2/calls/transcript",
            json={"filter": EVERYTHING, "cursor": first["records"]["cursor"]},
        )
        assert r.status_code == 400
        assert "cursor has expired" in r.json()["errors"]


def test_bad_requests(http, sb):
    r = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": {"callIds": []}})
    assert r.status_code == 400
    assert "callIds must not be empty" in r.json()["errors"]
    assert gong(http, sb, "POST", "/v2/calls/transcript", json={"filter": {"callIds": []}}).status_code == 400
    assert gong(http, sb, "POST", "/v2/calls/extensive", json={}).status_code == 400  # filter is required
    assert gong(http, sb, "POST", "/v2/calls/extensive", data=b"{not json").status_code == 400
    bad_date = {"filter": {"fromDateTime": "yesterday"}}
    assert gong(http, sb, "POST", "/v2/calls/extensive", json=bad_date).status_code == 400
    bad_selector = {"filter": {}, "contentSelector": {"context": "Basic", "contextTiming": ["Now"]}}
    assert gong(http, sb, "POST", "/v2/calls/extensive", json=bad_selector).status_code == 400
    assert gong(http, sb, "GET", "/v2/calls").status_code == 400  # both dates required


def test_window_bounds_from_inclusive_to_exclusive_with_offsets(http, sb):
    call = sb.gong.calls[len(sb.gong.calls) // 2]
    plus2 = timezone(timedelta(hours=2))
    at = call.started.astimezone(plus2).isoformat()  # e.g. 2025-11-03T17:30:00+02:00
    later = (call.started + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-5))).isoformat()
    earlier = (call.started - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ids(filt):
        r = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": {**filt, "callIds": [call.id]}})
        return [] if r.status_code == 404 else [c["metaData"]["id"] for c in r.json()["calls"]]

    assert ids({"fromDateTime": at, "toDateTime": later}) == [call.id]  # from is inclusive
    assert ids({"fromDateTime": earlier, "toDateTime": at}) == []  # to is exclusive
    assert ids({"fromDateTime": earlier, "toDateTime": later}) == [call.id]
    # a whole window agrees with the ground truth
    lo, hi = NOW - timedelta(days=120), NOW - timedelta(days=60)
    filt = {
        "fromDateTime": lo.astimezone(plus2).isoformat(),
        "toDateTime": hi.isoformat().replace("+00:00", "Z"),
    }
    served = {c["metaData"]["id"] for p in extensive_pages(http, sb, {"filter": filt}) for c in p["calls"]}
    assert served == {c.id for c in sb.gong.expected_calls(lo, hi, include_private=True)}


def test_empty_window_is_404(http, sb):
    body = {"filter": {"fromDateTime": "2001-01-01T00:00:00Z", "toDateTime": "2001-02-01T00:00:00Z"}}
    for path in ("/v2/calls/extensive", "/v2/calls/transcript"):
        r = gong(http, sb, "POST", path, json=body)
        assert r.status_code == 404
        assert r.json()["errors"] == ["No calls found corresponding to the provided filters"]
    r = gong(http, sb, "POST", "/v2/calls/extensive", json={"filter": {"callIds": ["1234"]}})
    assert r.status_code == 404


def test_content_selectors(http, sb):
    imported = next(c for c in sb.gong.calls if c.imported)
    normal = next(c for c in sb.gong.calls if not c.imported)
    ids = [imported.id, normal.id]

    def served(selector):
        body = {"filter": {"callIds": ids}, "contentSelector": selector}
        r = gong(http, sb, "POST", "/v2/calls/extensive", json=body)
        assert r.status_code == 200, r.text
        return {c["metaData"]["id"]: c for c in r.json()["calls"]}

    plain = served({"exposedFields": {"content": {"brief": True}}})
    assert all("parties" not in c and "context" not in c for c in plain.values())
    assert set(plain[normal.id]["content"]) == {"brief"}
    with_parties = served({"exposedFields": {"parties": True}})
    assert "parties" not in with_parties[imported.id]  # imported calls have no parties at all
    parties = with_parties[normal.id]["parties"]
    assert parties and all("context" not in p for p in parties)
    assert all(p["speakerId"] is None or isinstance(p["speakerId"], str) for p in parties)
    everything = served(ALL_FIELDS)
    call = everything[normal.id]
    assert set(call) == {"metaData", "context", "parties", "content", "interaction", "collaboration", "media"}
    assert "interactionStats" in call["interaction"]
    assert all("context" in p for p in call["parties"])
    basic = served({"context": "Basic"})[normal.id]
    assert all("fields" not in o for ctx in basic["context"] for o in ctx["objects"])
    no_stats = served({"exposedFields": {"interaction": {"speakers": True}}})[normal.id]
    assert set(no_stats["interaction"]) == {"speakers"}
    # served exactly as the ground truth says
    assert everything[normal.id] == sb.gong.call_data(normal, ALL_FIELDS)
    assert with_parties[normal.id]["parties"] == sb.gong.parties(normal.id)


def test_extended_context_has_mixed_value_types(http, sb):
    types = set()
    for call in sb.gong.calls[:60]:
        data = sb.gong.call_data(call, {"context": "Extended"})
        for ctx in data["context"]:
            for obj in ctx["objects"]:
                types |= {type(f["value"]).__name__ for f in obj["fields"]}
    assert {"str", "int", "float", "bool", "NoneType", "dict", "list"} <= types


def test_party_quirks(sb):
    parties = [p for c in sb.gong.calls[:80] for p in sb.gong.parties(c)]
    assert any(p["speakerId"] is None for p in parties)
    assert any("userId" not in p for p in parties)
    assert any("title" not in p for p in parties)
    assert any("emailAddress" not in p for p in parties)


def test_transcripts(http, sb):
    body = {"filter": EVERYTHING}
    got = {}
    while True:
        r = gong(http, sb, "POST", "/v2/calls/transcript", json=body)
        assert r.status_code == 200
        for t in r.json()["callTranscripts"]:
            got[t["callId"]] = t["transcript"]
        if "cursor" not in r.json()["records"]:
            break
        body["cursor"] = r.json()["records"]["cursor"]
    expected = {c.id for c in sb.gong.calls if c.has_transcript}
    assert set(got) == expected
    assert any(c.is_private for c in sb.gong.calls if c.id in got)  # private calls are not hidden
    call_id = next(iter(got))
    assert got[call_id] == sb.gong.transcript(call_id)
    mono = got[call_id][0]
    assert set(mono) == {"speakerId", "topic", "sentences"}
    assert all(isinstance(s["start"], int) and s["end"] >= s["start"] for s in mono["sentences"])
    speakers = {p["speakerId"] for p in sb.gong.parties(call_id) if p["speakerId"]}
    call = next(c for c in sb.gong.calls if c.id == call_id)
    if not call.imported:  # every monologue is a party's, except those the ground truth says match nobody
        truth = sb.gong.expected_speakers(call_id)
        spoken = {
            m["speakerId"] for m, who in zip(got[call_id], truth, strict=True) if who["speaker_party_id"]
        }
        assert spoken <= speakers
    no_transcript = next(c for c in sb.gong.calls if not c.has_transcript)
    assert sb.gong.transcript(no_transcript.id) is None
    r = gong(http, sb, "POST", "/v2/calls/transcript", json={"filter": {"callIds": [no_transcript.id]}})
    assert r.status_code == 404


def test_users_two_pages_and_list_calls(http, sb):
    r = gong(http, sb, "GET", "/v2/users")
    assert r.status_code == 200
    first = r.json()
    assert first["records"]["totalRecords"] == 130 and len(first["users"]) == 100
    second = gong(http, sb, "GET", "/v2/users", params={"cursor": first["records"]["cursor"]}).json()
    assert len(second["users"]) == 30 and "cursor" not in second["records"]
    users = first["users"] + second["users"]
    assert users == sb.gong.users
    assert all("conferencingProviders" in u and isinstance(u["spokenLanguages"], list) for u in users)
    assert any(u["title"] is None for u in users)
    assert datetime.fromisoformat(users[0]["created"]).utcoffset() is not None
    params = {"fromDateTime": "2000-01-01T00:00:00Z", "toDateTime": "2100-01-01T00:00:00Z"}
    listed = gong(http, sb, "GET", "/v2/calls", params=params).json()
    assert listed["records"]["totalRecords"] == 250 and len(listed["calls"]) == 100
    assert "primaryUserId" in listed["calls"][0]


# ---------------------------------------------------------------------------------------------------- limits


def test_gong_rate_limit(http):
    with Sandbox(seed=1, now=NOW, gong_calls=10, clari_calls=0, gong_rate_limit=3) as sb:
        codes = [gong(http, sb, "GET", "/v2/workspaces") for _ in range(6)]
        limited = [r for r in codes if r.status_code == 429]
        assert [r.status_code for r in codes][:3] == [200, 200, 200]
        assert limited and all(r.headers["Retry-After"] == "1" for r in limited)
        assert limited[0].json()["errors"] == ["Too many requests"]
        time.sleep(1.05)
        assert gong(http, sb, "GET", "/v2/workspaces").status_code == 200
        assert sb.stats()[("gong", "/v2/workspaces", 429)] == len(limited)
        # never more than 3 accepted requests start within any one second
        starts = [s.t_start for s in sb.log if s.status == 200]
        assert all(b - a >= 1.0 for a, b in zip(starts, starts[3:], strict=False))


def test_gong_daily_quota_and_clari_rate_limit(http):
    with Sandbox(seed=1, now=NOW, gong_calls=10, clari_calls=5, gong_daily_quota=2, clari_rate_limit=2) as sb:
        codes = [gong(http, sb, "GET", "/v2/workspaces").status_code for _ in range(2)]
        r = gong(http, sb, "GET", "/v2/workspaces")
        assert codes == [200, 200] and r.status_code == 429
        assert r.headers["Retry-After"] == "3600"
        clari_codes = [clari(http, sb, "/users") for _ in range(4)]
        assert [c.status_code for c in clari_codes][:2] == [200, 200]
        limited = [c for c in clari_codes if c.status_code == 429]
        assert limited and all("Retry-After" not in c.headers for c in limited)


# ---------------------------------------------------------------------------------------------------- faults


def test_fault_429_variants(http, fresh):
    date = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    fresh.inject("gong", "429", retry_after=7)
    fresh.inject("gong", "429", retry_after=date)
    fresh.inject("gong", "429", retry_after=None)
    first, second, third = (gong(http, fresh, "GET", "/v2/workspaces") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.headers["Retry-After"] == date
    assert third.status_code == 429 and "Retry-After" not in third.headers
    assert gong(http, fresh, "GET", "/v2/workspaces").status_code == 200  # normal service resumes


def test_fault_status_and_path_matching(http, fresh):
    fresh.inject("gong", "status", path="/v2/calls/transcript", count=2, code=503)
    fresh.inject("clari", "status", code=502, body={"message": "Bad Gateway"})
    assert gong(http, fresh, "GET", "/v2/workspaces").status_code == 200  # other path: unaffected
    body = {"filter": EVERYTHING}
    codes = [gong(http, fresh, "POST", "/v2/calls/transcript", json=body).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    r = clari(http, fresh, "/calls")
    assert (r.status_code, r.json()) == (502, {"message": "Bad Gateway"})
    assert clari(http, fresh, "/calls").status_code == 200


def test_fault_reset(http, fresh):
    fresh.inject("clari", "reset")
    with pytest.raises(requests.ConnectionError):
        clari(http, fresh, "/calls")
    assert clari(http, fresh, "/calls").status_code == 200
    assert [s.status for s in fresh.log if s.source == "clari"] == [0, 200]


def test_fault_slow(http, fresh):
    fresh.inject("gong", "slow", delay=1.0)
    with pytest.raises(requests.Timeout):
        gong(http, fresh, "GET", "/v2/workspaces", timeout=0.2)
    assert gong(http, fresh, "GET", "/v2/workspaces", timeout=5).status_code == 200


def test_fault_malformed(http, fresh):
    fresh.inject("gong", "malformed", path="/v2/calls/extensive")
    r = gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING})
    assert r.status_code == 200
    assert r.text.startswith('{"requestId"')
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING}).json()["calls"]


def test_fault_expire_cursor_waits_for_a_cursor(http, fresh):
    fresh.inject("gong", "expire_cursor")
    first = gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": EVERYTHING})
    assert first.status_code == 200  # no cursor: not affected
    body = {"filter": EVERYTHING, "cursor": first.json()["records"]["cursor"]}
    r = gong(http, fresh, "POST", "/v2/calls/extensive", json=body)
    assert (r.status_code, r.json()["errors"]) == (400, ["cursor has expired"])
    assert gong(http, fresh, "POST", "/v2/calls/extensive", json=body).status_code == 200


def test_late_arrivals_are_visible_at_once(http, fresh):
    lo, hi = NOW - timedelta(days=3), NOW - timedelta(days=2)
    before = {c.id for c in fresh.gong.expected_calls(lo, hi, include_private=True)}
    new = fresh.gong.add_calls(3, lo, hi, is_private=False, has_transcript=True)
    assert len({c.id for c in new} | before) == len(before) + 3
    filt = {"fromDateTime": lo.isoformat(), "toDateTime": hi.isoformat()}
    served = {c["metaData"]["id"] for p in extensive_pages(http, fresh, {"filter": filt}) for c in p["calls"]}
    assert served == before | {c.id for c in new}


# ---------------------------------------------------------------------------------------------------- Clari


def test_clari_auth(http, sb):
    r = clari(http, sb, "/calls", headers={"X-Api-Key": Sandbox.CLARI_API_KEY})
    assert r.status_code == 401
    assert r.json() == {
        "errorMessage": "Credentials not provided!, see documentation: https://api-doc.copilot.clari.com"
    }
    r = clari(http, sb, "/calls", headers={"x-api-key": Sandbox.CLARI_API_KEY, "x-api-password": "wrong"})
    assert (r.status_code, r.json()) == (401, {"errorMessage": "Invalid credentials"})
    lower = {"x-api-key": Sandbox.CLARI_API_KEY, "x-api-password": Sandbox.CLARI_API_PASSWORD}
    assert clari(http, sb, "/users", headers=lower).status_code == 200


def test_clari_parameter_validation(http, sb):
    for params in (
        {"skip": 10001},
        {"skip": -1},
        {"skip": "ten"},
        {"limit": 101},
        {"limit": 0},
        {"limit": "x"},
    ):
        assert clari(http, sb, "/calls", params).status_code == 400, params
    assert clari(http, sb, "/calls", {"filterModifiedGt": "not a date"}).status_code == 400
    assert clari(http, sb, "/calls", {"includePrivate": "maybe"}).status_code == 400
    assert clari(http, sb, "/calls", {"skip": 10000, "limit": 100}).status_code == 200


def test_clari_paging_and_omitted_fields(http, sb):
    skip, seen, pages = 0, [], []
    while True:
        r = clari(http, sb, "/calls", {"skip": skip, "limit": 50})
        assert r.status_code == 200
        page = r.json()
        pages.append(page)
        seen += page["calls"]
        if "nextPageSkip" not in page["pagination"]:
            assert page["pagination"]["hasMore"] is False
            break
        assert page["pagination"]["hasMore"] is True
        skip = page["pagination"]["nextPageSkip"]
    public = [c for c in sb.clari.calls if c["id"] not in sb.clari.private_ids]
    assert pages[0]["pagination"]["matched"] == len(public) == len(seen)
    assert [c["id"] for c in seen] == [c["id"] for c in public]
    # default order: by id, not by modification time
    assert [c["id"] for c in seen] == sorted(c["id"] for c in seen)
    assert len(clari(http, sb, "/calls").json()["calls"]) == 25  # default limit
    assert all(c["audio_url"] is None and c["video_url"] is None for c in seen)
    assert any("source_id" not in c for c in seen)
    assert any("crm_info" not in c for c in seen) and any("crm_info" in c for c in seen)
    assert all(isinstance(c["deal_value"], str) for c in seen if "deal_value" in c)
    assert all("transcript" not in c and "summary" not in c for c in seen)
    assert len({c["status"] for c in seen}) > 3
    with_private = clari(http, sb, "/calls", {"includePrivate": "true", "limit": 100, "skip": 100}).json()
    assert with_private["pagination"]["matched"] == len(sb.clari.calls)
    no_pagination = clari(http, sb, "/calls", {"includePagination": "false"}).json()
    assert set(no_pagination) == {"calls"}


def test_clari_modified_filters_are_strict(http, sb):
    target = sb.clari.calls[5]
    at = target["last_modified_time"]
    params = {"filterModifiedGt": at, "includePrivate": "true", "limit": 100}
    ids = [c["id"] for c in clari(http, sb, "/calls", params).json()["calls"]]
    assert target["id"] not in ids
    lm = datetime.fromisoformat(at.replace("Z", "+00:00"))
    expected = sb.clari.expected_calls(
        modified_gt=lm - timedelta(milliseconds=1), include_private=True, include_unknown_to_details=True
    )
    params["filterModifiedGt"] = (lm - timedelta(milliseconds=1)).isoformat()
    ids = []
    for skip in range(0, 200, 100):
        ids += [c["id"] for c in clari(http, sb, "/calls", {**params, "skip": skip}).json()["calls"]]
    assert target["id"] in ids and set(ids) == {c["id"] for c in expected}


def test_clari_details(http, sb):
    done = next(c for c in sb.clari.calls if "transcript" in c and c["id"] not in sb.clari.details_missing)
    r = clari(http, sb, "/call-details", {"id": done["id"]})
    assert r.status_code == 200
    call = r.json()["call"]
    assert call == done
    entry = call["transcript"][0]
    assert set(entry) == {"text", "start", "end", "personId", "annotations"}
    assert isinstance(entry["personId"], int)
    missing = sorted(sb.clari.details_missing)[0]
    listed = clari(http, sb, "/calls", {"includePrivate": "true", "limit": 100}).json()["calls"]
    listed += clari(http, sb, "/calls", {"includePrivate": "true", "limit": 100, "skip": 100}).json()["calls"]
    assert missing in {c["id"] for c in listed}
    r = clari(http, sb, "/call-details", {"id": missing})
    assert (r.status_code, r.json()) == (404, {"errorMessage": "Not found"})
    assert clari(http, sb, "/call-details", {"id": "00000000-0000-0000-0000-000000000000"}).status_code == 404
    summaries = [c["summary"] for c in sb.clari.calls if "summary" in c]
    stamps = [t["start_timestamp"] for s in summaries for t in s["topics_discussed"]]
    assert "NaN" in stamps and all(isinstance(s, str) for s in stamps)
    assert any("summary" not in c for c in sb.clari.calls)
    users = clari(http, sb, "/users").json()["users"]
    assert users and "pagination" not in clari(http, sb, "/users").json()


def test_clari_modify_and_add(http, fresh):
    target = fresh.clari.calls[0]["id"]
    at = NOW - timedelta(minutes=5)
    fresh.clari.modify([target], at)
    new = fresh.clari.add_calls(2, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    since = (NOW - timedelta(hours=3)).isoformat()
    page = clari(http, fresh, "/calls", {"filterModifiedGt": since, "includePrivate": "1"}).json()
    ids = {c["id"] for c in page["calls"]}
    assert {target, *(c["id"] for c in new)} <= ids


# ---------------------------------------------------------------------------------------------------- misc


def test_determinism():
    kwargs = {"seed": 5, "now": NOW, "gong_calls": 300, "clari_calls": 50}
    a, b = Sandbox(**kwargs), Sandbox(**kwargs)
    assert [c.id for c in a.gong.calls] == [c.id for c in b.gong.calls]
    assert [c.started for c in a.gong.calls] == [c.started for c in b.gong.calls]
    call = a.gong.calls[17]
    assert a.gong.call_data(call, ALL_FIELDS) == b.gong.call_data(call.id, ALL_FIELDS)
    assert a.gong.transcript(call.id) == b.gong.transcript(call.id)
    assert a.gong.users == b.gong.users
    assert a.clari.calls == b.clari.calls
    assert [c.id for c in Sandbox(**{**kwargs, "seed": 6}).gong.calls] != [c.id for c in a.gong.calls]


def test_lumpy_distribution(sb):
    weekdays = [c.started.weekday() for c in sb.gong.calls]
    assert weekdays.count(2) > 3 * weekdays.count(6)
    assert all(NOW - timedelta(days=400) <= c.started < NOW - timedelta(hours=1) for c in sb.gong.calls)


def test_control_endpoints(http, fresh):
    gong(http, fresh, "GET", "/v2/workspaces")
    truth = http.get(fresh.url + "/_sandbox/truth", timeout=5).json()
    assert set(truth["gong_call_ids"]) == {c.id for c in fresh.gong.calls if not c.is_private}
    assert truth["counts"]["gong_user"] == 130
    log = http.get(fresh.url + "/_sandbox/log", timeout=5).json()
    assert log[0]["source"] == "gong" and "body" not in log[0]
    stats = http.get(fresh.url + "/_sandbox/stats", timeout=5).json()
    assert {"source": "gong", "path": "/v2/workspaces", "status": 200, "count": 1} in stats["counts"]
    r = http.post(
        fresh.url + "/_sandbox/inject", json={"source": "gong", "kind": "status", "code": 500}, timeout=5
    )
    assert r.status_code == 200
    assert gong(http, fresh, "GET", "/v2/workspaces").status_code == 500
    http.post(fresh.url + "/_sandbox/clear", timeout=5)
    assert [s.source for s in fresh.log] == ["control"]


def test_page_timings():
    with Sandbox(seed=1, now=NOW, gong_calls=300, clari_calls=0, transcript_size="realistic") as sb:
        with requests.Session() as http:
            t0 = time.perf_counter()
            r = gong(
                http,
                sb,
                "POST",
                "/v2/calls/extensive",
                json={"filter": EVERYTHING, "contentSelector": ALL_FIELDS},
            )
            t1 = time.perf_counter()
            t = gong(http, sb, "POST", "/v2/calls/transcript", json={"filter": EVERYTHING})
            t2 = time.perf_counter()
        assert r.status_code == 200 and len(r.json()["calls"]) == 100
        sentences = sum(len(m["sentences"]) for ct in t.json()["callTranscripts"] for m in ct["transcript"])
        assert sentences > 100 * 400
        # generous bounds for slow CI machines (typical: ~30 ms and ~100 ms)
        assert t1 - t0 < 1.0 and t2 - t1 < 2.0


def test_cli_starts_prints_and_stops_on_sigterm(tmp_path: Path):
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [
        sys.executable,
        "-m",
        "calls_sandbox",
        "--port",
        "0",
        "--gong-calls",
        "30",
        "--clari-calls",
        "10",
        "--ready-file",
        str(ready),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["pid"] == proc.pid and info["gong_url"] == info["url"] + "/gong"
        assert json.loads(ready.read_text()) == info
        with requests.Session() as http:
            assert http.get(info["url"] + "/_sandbox/health", timeout=5).json()["ok"] is True
            auth = (Sandbox.GONG_ACCESS_KEY, Sandbox.GONG_ACCESS_KEY_SECRET)
            assert http.get(info["gong_url"] + "/v2/users", auth=auth, timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_control_data_changes(http, fresh):
    lo, hi = NOW - timedelta(days=2), NOW - timedelta(days=1)
    body = {"n": 2, "started_from": lo.isoformat(), "started_to": hi.isoformat(), "has_transcript": True}
    new_ids = http.post(fresh.url + "/_sandbox/gong/add_calls", json=body, timeout=5).json()["ids"]
    assert len(new_ids) == 2 and all(fresh.gong.get(i) for i in new_ids)
    call = fresh.gong.calls[0]
    before = gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": {"callIds": [call.id]}}).json()
    http.post(fresh.url + "/_sandbox/gong/update_call", json={"id": call.id, "edit": True}, timeout=5)
    after = gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": {"callIds": [call.id]}}).json()
    assert before["calls"][0]["metaData"]["title"] != after["calls"][0]["metaData"]["title"]
    target = fresh.clari.calls[1]["id"]
    at = "2026-03-01T00:00:00.000Z"
    http.post(fresh.url + "/_sandbox/clari/modify", json={"ids": [target], "at": at}, timeout=5)
    assert clari(http, fresh, "/call-details", {"id": target}).json()["call"]["last_modified_time"] == at
    bad = http.post(fresh.url + "/_sandbox/clari/add_calls", json={"n": 1}, timeout=5)
    assert bad.status_code == 400


def test_list_calls_pages_by_cursor_in_the_query_and_404s_when_empty(http, sb):
    """GET /v2/calls (gong_api.md §3.1): both dates required, 100 a page, the cursor in the query, workspaceId."""
    params = {"fromDateTime": "2000-01-01T00:00:00Z", "toDateTime": "2100-01-01T00:00:00Z"}
    assert (
        gong(http, sb, "GET", "/v2/calls", params={"fromDateTime": params["fromDateTime"]}).status_code == 400
    )
    ids, cursor = [], None
    while True:
        page = gong(http, sb, "GET", "/v2/calls", params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        ids += [c["id"] for c in page.json()["calls"]]
        cursor = page.json()["records"].get("cursor")
        if cursor is None:
            break
    assert len(ids) == 250 and set(ids) == {c.id for c in sb.gong.calls}  # private ones too, with isPrivate
    workspace = sb.gong.workspaces[1]["id"]
    listed = gong(http, sb, "GET", "/v2/calls", params={**params, "workspaceId": workspace}).json()
    assert {c["workspaceId"] for c in listed["calls"]} == {workspace}
    empty = gong(http, sb, "GET", "/v2/calls", params={**params, "toDateTime": "2000-01-02T00:00:00Z"})
    assert empty.status_code == 404
    assert empty.json()["errors"] == ["No calls found corresponding to the provided filters"]


def test_deleted_calls_disappear_from_every_endpoint(http, fresh):
    gone = [c.id for c in fresh.gong.calls if c.has_transcript and not c.is_private][:2]
    folder = next(f for f in fresh.gong_more.folders if fresh.gong_more.folder_content(f["id"])["calls"])
    filed = fresh.gong_more.folder_content(folder["id"])["calls"][0]["id"]
    answered = fresh.gong_more.answered_scorecards[0]["callId"]
    deleted = http.post(
        fresh.url + "/_sandbox/gong/delete_calls", json={"ids": [*gone, filed, answered]}, timeout=5
    )
    assert set(deleted.json()["deleted"]) == {*gone, filed, answered}
    window = {"fromDateTime": "2000-01-01T00:00:00Z", "toDateTime": "2100-01-01T00:00:00Z"}
    listed = []
    cursor = None
    while True:
        page = gong(
            http, fresh, "GET", "/v2/calls", params={**window, **({"cursor": cursor} if cursor else {})}
        )
        listed += [c["id"] for c in page.json()["calls"]]
        if (cursor := page.json()["records"].get("cursor")) is None:
            break
    assert not set(listed) & {*gone, filed, answered} and len(listed) == 150 - len({*gone, filed, answered})
    by_id = gong(http, fresh, "POST", "/v2/calls/extensive", json={"filter": {"callIds": gone}})
    assert by_id.status_code == 404
    transcripts = gong(http, fresh, "POST", "/v2/calls/transcript", json={"filter": {"callIds": gone}})
    assert transcripts.status_code == 404
    assert gong(http, fresh, "GET", f"/v2/calls/{gone[0]}").status_code == 404
    content = gong(http, fresh, "GET", "/v2/library/folder-content", params={"folderId": folder["id"]}).json()
    assert filed not in {c["id"] for c in content["calls"]}
    assert answered not in {r["callId"] for r in fresh.gong_more.answered_scorecards}

    target = fresh.clari.index()[0].id
    assert http.post(fresh.url + "/_sandbox/clari/delete_calls", json={"ids": [target]}, timeout=5).ok
    assert clari(http, fresh, "/call-details", {"id": target}).status_code == 404
    calls = clari(http, fresh, "/calls", {"limit": 100}).json()
    assert target not in {c["id"] for c in calls["calls"]} and calls["pagination"]["matched"] == 59 - sum(
        1 for c in fresh.clari.index() if c.is_private
    )
