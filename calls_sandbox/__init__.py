"""A local, deterministic stand-in for the Gong v2 and Clari Copilot REST APIs.

A real HTTP server on 127.0.0.1 that behaves as ``/work/shared/reference/gong_api.md`` (§2-5) and
``clari_api.md`` (§1-3) describe, awkward parts included: fixed 100-record Gong pages with expiring,
request-bound cursors in the POST body (a query-string cursor is ignored), 404 for empty windows, 400 for
``callIds: []``, non-chronological result order, absent keys (imported calls without ``parties``), mixed-type CRM
values; Clari's ``skip <= 10000`` offset paging, omitted fields, ``"NaN"`` summary timestamps, ``/call-details``
404s for listed calls; rate limits and injectable faults. The tap never imports it; tests, a demo and a benchmark
do::

    from calls_sandbox import Sandbox

    with Sandbox(seed=1, gong_calls=500) as sb:        # or Sandbox(...).start() / sb.stop()
        config = {**sb.gong_config(), **sb.clari_config()}
        ...                                             # run the tap against sb.gong_url / sb.clari_url
        expected = sb.gong.expected_calls(from_dt, to_dt)
        assert {s.path for s in sb.log} >= {"/v2/calls/extensive"}

Ground truth (deterministic for the same seed, ``now`` and sizes):

- ``sb.gong.calls`` (``GongCall`` index, sorted by ``started``), ``sb.gong.call_data(call, content_selector)``,
  ``sb.gong.transcript(call_id)``, ``sb.gong.parties(call_id)``, ``sb.gong.users``, ``sb.gong.workspaces``,
  ``sb.gong.expected_calls(from_dt, to_dt, include_private=False, workspace_id=None)``,
  ``sb.gong.add_calls(n, started_from, started_to, **flags)`` (late arrivals),
  ``sb.gong.update_call(call_id, is_private=..., has_transcript=..., edit=True)``,
  ``sb.gong.delete_calls(ids)`` (deleted calls disappear from every endpoint; ``sb.gong.deleted`` lists them),
  ``sb.gong.expected_speakers(call)`` (per monologue, the speaker fields a tap adds from the call's parties).
- ``sb.gong_more`` (``gong_more.GongMoreData``): scorecards, answered scorecards, trackers, call outcomes, library
  folders and their calls, day-by-day activity and interaction stats (company zone ``gong_time_zone``, default
  ``US/Pacific``), ``add_review(...)`` and ``revise_day(...)`` while running; ``Sandbox(gong_missing_scopes={...})``
  makes the endpoints needing those scopes answer 401 naming the scope (``gong_scope_denial="plain"``: a bare
  401 "Access denied", as Basic keys get); ``gong_revoke_after=N`` (or ``sb.revoke_gong_credentials()``) makes
  Gong refuse the credentials after N requests, as after a key is revoked or a token expired;
  ``gong_numeric_ids=True`` sends every all-digit id as a JSON number (Gong's spec says int64), at every depth.
- ``sb.clari.calls`` (full ``/call-details`` dicts), ``sb.clari.expected_calls(modified_gt, modified_lt,
  include_private=False, include_unknown_to_details=False)``, ``sb.clari.add_calls(n, modified_from, modified_to)``, ``sb.clari.modify(ids, at)``, ``sb.clari.delete_calls(ids)``,
  ``sb.clari.details_missing`` (ids whose details 404), ``sb.clari.private_ids``, ``sb.clari.users``,
  ``sb.clari.expected_speakers(call_id)`` (per transcript line, the speaker resolved from ``personId``).
- ``sb.clari_more`` (``calls_sandbox.clari_more``: ``/v2/topics``, ``/scorecard``, ``/scorecard-template``):
  ``expected_users()``, ``expected_topics(modified_gt, modified_lt)``, ``expected_scorecards(time_gt, time_lt)``,
  ``expected_templates()``, ``scorecard_index()`` (with each scorecard's hidden time), ``add_scorecards(n, from, to)``.

Gong OAuth (``calls_sandbox.oauth``): ``POST /oauth2/generate-customer-token?grant_type=refresh_token&refresh_token=…``
with Basic ``OAuthIssuer.CLIENT_ID:CLIENT_SECRET``; single-use refresh tokens (``invalid_grant`` once spent),
access tokens expiring after ``Sandbox(oauth_expires_in=...)`` seconds (and after ``oauth_token_uses=`` API requests
when set), ``api_base_url_for_customer`` = ``sb.gong_url``. ``sb.gong_oauth_config(store)`` gives the tap's OAuth
settings with a freshly authorized refresh token; ``sb.oauth`` counts ``refreshes``, ``refused``, ``expired``.

Observation and faults: ``sb.log`` (``Served`` entries), ``sb.clear_log()``, ``sb.stats()``,
``sb.inject(source, kind, path=None, count=1, **params)`` with kinds ``429`` (``retry_after``, ``delay``: answered
that many seconds late), ``status`` (``code``, ``body``), ``reset``, ``slow`` (``delay``), ``malformed``,
``expire_cursor``; any kind with ``body_filter={field: value}`` hits only requests whose JSON body's ``filter``
holds those values (one day of ``/v2/stats/interaction``, say).

Run it as a process with ``python -m calls_sandbox`` (see ``calls_sandbox.__main__``); control endpoints under
``/_sandbox/``: ``GET log[?bodies=1]``, ``GET stats``, ``POST clear``, ``GET truth``, ``GET health``,
``POST inject`` (``{"source", "kind", "path"?, "count"?, ...params}``), ``POST gong/add_calls``
(``{"n", "started_from", "started_to", ...flags}``), ``POST gong/update_call`` (``{"id", ...changes}``),
``POST clari/add_calls`` (``{"n", "modified_from", "modified_to"}``), ``POST clari/modify`` (``{"ids", "at"}``),
``POST gong/delete_calls`` and ``POST clari/delete_calls`` (``{"ids"}``: deleted calls vanish from every endpoint),
``POST gong/add_review`` (``{"review_time", "method"?}``), ``POST gong/revise_day`` (``{"day"}``),
``POST oauth/authorize`` (a first refresh token and the app's client id/secret), ``GET oauth`` (counters).
"""

from .clari_data import ClariCall
from .gong_data import GongCall
from .server import Sandbox, Served

__all__ = ["ClariCall", "GongCall", "Sandbox", "Served"]
