"""``python -m calls_sandbox`` / ``calls-sandbox``: run the sandbox as its own process.

Prints one JSON line ``{"url", "gong_url", "clari_url", "pid"}`` to stdout once it is listening (and writes the
same line to ``--ready-file``), then serves until SIGTERM or SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from datetime import datetime

from .common import parse_iso
from .server import Sandbox


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="calls-sandbox",
        description=__doc__.splitlines()[0],
        epilog=(
            "Credentials it accepts (fixed, public): Gong access_key=sandbox-access-key and "
            "access_key_secret=sandbox-access-key-secret (or access_token=sandbox-oauth-token); Clari "
            "clari_api_key=sandbox-clari-key and clari_api_password=sandbox-clari-password. Point api_url at "
            "the printed gong_url and clari_api_url at clari_url. meltano.yml's `sandbox` environment expects "
            "--port 8765."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (keep it a loopback address)")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to listen on; 0 picks a free one (printed). Use 8765 for meltano.yml's sandbox environment",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data: same seed, same data")
    p.add_argument(
        "--now", type=parse_iso, default=None, help="ISO date-time anchor for the data; unset: now"
    )
    p.add_argument("--gong-calls", type=int, default=1250, help="number of Gong calls")
    p.add_argument(
        "--gong-span-days", type=float, default=400, help="Gong calls start within this many days before now"
    )
    p.add_argument("--gong-users", type=int, default=130, help="number of Gong users")
    p.add_argument("--gong-workspaces", type=int, default=2, help="number of Gong workspaces")
    p.add_argument(
        "--private-ratio", type=float, default=0.05, help="share of private calls (Gong and Clari)"
    )
    p.add_argument(
        "--imported-ratio", type=float, default=0.03, help="share of Gong calls imported without parties"
    )
    p.add_argument(
        "--transcript-ratio", type=float, default=0.9, help="share of Gong calls that have a transcript"
    )
    p.add_argument(
        "--transcript-size",
        choices=["small", "realistic"],
        default="small",
        help="transcript length: a few sentences, or about a 45-minute call",
    )
    p.add_argument("--clari-calls", type=int, default=300, help="number of Clari Copilot calls")
    p.add_argument(
        "--clari-span-days", type=float, default=400, help="Clari calls fall within this many days before now"
    )
    p.add_argument(
        "--clari-details-missing-ratio",
        type=float,
        default=0.01,
        help="share of listed Clari calls that /call-details answers with 404",
    )
    p.add_argument("--clari-scorecards", type=int, default=150, help="number of filled Clari scorecards")
    p.add_argument(
        "--clari-template-key",
        choices=["scoreCardTemplates", "scorecardTemplates"],
        default="scoreCardTemplates",
        help="the key GET /scorecard-template lists templates under (Clari uses both spellings)",
    )
    p.add_argument(
        "--gong-rate-limit",
        type=float,
        default=None,
        help="Gong requests per second above which it answers 429 with Retry-After; unset: no limit",
    )
    p.add_argument(
        "--gong-daily-quota",
        type=int,
        default=None,
        help="Gong requests per day; once spent, 429 with a long Retry-After; unset: no quota",
    )
    p.add_argument(
        "--gong-quota-retry-after",
        type=int,
        default=3600,
        help="Retry-After seconds sent once the daily quota is spent",
    )
    p.add_argument(
        "--clari-rate-limit",
        type=float,
        default=None,
        help="Clari requests per second above which it answers 429; unset: no limit",
    )
    p.add_argument(
        "--gong-revoke-after",
        type=int,
        default=None,
        help="Gong refuses the credentials (401/403 Access denied) after this many requests; unset: never",
    )
    p.add_argument(
        "--gong-numeric-ids",
        action="store_true",
        help="send every all-digit Gong id as a JSON number (the spec's int64), at every depth",
    )
    p.add_argument(
        "--gong-missing-scope",
        action="append",
        default=[],
        help="a scope the Gong key lacks (repeatable): its endpoints answer 401",
    )
    p.add_argument(
        "--gong-scope-denial",
        choices=["named", "plain"],
        default="named",
        help="how a missing scope is refused: 401 naming the scope, or a plain 401 Access denied",
    )
    p.add_argument("--gong-latency", type=float, default=0.0, help="seconds added to every Gong answer")
    p.add_argument("--clari-latency", type=float, default=0.0, help="seconds added to every Clari answer")
    p.add_argument(
        "--cursor-ttl", type=float, default=600.0, help="seconds after which a Gong paging cursor expires"
    )
    p.add_argument(
        "--oauth-expires-in",
        type=float,
        default=86_400.0,
        help="lifetime in seconds of the OAuth access tokens the token endpoint issues (expires_in)",
    )
    p.add_argument(
        "--oauth-token-uses",
        type=int,
        default=None,
        help="also expire an OAuth access token after this many Gong API requests; unset: time only",
    )
    p.add_argument("--ready-file", default=None, help="also write the JSON line to this file once listening")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    now: datetime | None = args.now
    sb = Sandbox(
        seed=args.seed,
        now=now,
        gong_calls=args.gong_calls,
        gong_span_days=args.gong_span_days,
        gong_users=args.gong_users,
        gong_workspaces=args.gong_workspaces,
        private_ratio=args.private_ratio,
        imported_ratio=args.imported_ratio,
        transcript_ratio=args.transcript_ratio,
        transcript_size=args.transcript_size,
        clari_calls=args.clari_calls,
        clari_span_days=args.clari_span_days,
        clari_details_missing_ratio=args.clari_details_missing_ratio,
        clari_scorecards=args.clari_scorecards,
        clari_template_key=args.clari_template_key,
        gong_rate_limit=args.gong_rate_limit,
        gong_daily_quota=args.gong_daily_quota,
        gong_quota_retry_after=args.gong_quota_retry_after,
        clari_rate_limit=args.clari_rate_limit,
        gong_latency=args.gong_latency,
        gong_revoke_after=args.gong_revoke_after,
        gong_numeric_ids=args.gong_numeric_ids,
        gong_missing_scopes=args.gong_missing_scope,
        gong_scope_denial=args.gong_scope_denial,
        clari_latency=args.clari_latency,
        cursor_ttl=args.cursor_ttl,
        oauth_expires_in=args.oauth_expires_in,
        oauth_token_uses=args.oauth_token_uses,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sb.start()
    line = json.dumps({"url": sb.url, "gong_url": sb.gong_url, "clari_url": sb.clari_url, "pid": os.getpid()})
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
        os.replace(tmp, args.ready_file)
    print(line, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sb.stop()
        if args.ready_file:
            with contextlib.suppress(OSError):
                os.remove(args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
