"""``python -m benchmark``: tap-calls against the API sandbox, eleven figures in one table (issues 5, 10, 12).

Every measurement starts its own sandbox (``python -m calls_sandbox``) and runs the tap as a separate process
(``tap-calls --config FILE``), then stops both. CPU time and peak RSS are the tap process's own (``wait4``
rusage), never the sandbox's. The machine is shared and noisy, so every figure is a ratio:

1. Gong requests per 1,000 calls on a full backfill of calls, parties and transcripts (sandbox request log;
   calls counted as the sandbox's truth holds them, private ones included). Target <= 21.
2. Rate-cap use: sandbox enforcing 3 requests/s, realistic transcripts, tap defaults; tap wall time divided by
   (Gong requests / 3). Target <= 1.1 with zero 429s.
3. CPU throughput: no rate limit, realistic transcripts; calls emitted per CPU-second of the tap. Target >= 300.
4. CPU per record of the ``calls`` stream (only ``calls`` selected) against a bare singer-sdk stream
   (``benchmark.bare_tap``: default type conformance and message writer) that emits the same records from a file;
   startup CPU subtracted (runs with 0 records). Efficiency = bare / tap CPU per record. Target >= 100 %.
5. Peak RSS of the tap syncing 100,000 calls / 10,000 calls (no rate limit, small transcripts). Target <= 1.2.
6. Clari details per second with 150 ms sandbox latency, the sandbox capping Clari at 10/s and the tap at its
   default: (details requests - 1) / time from the first to the last details request. Target >= 9, with the
   busiest 1-second window <= 10 requests and zero 429s.
7, 8. Rate-cap use when Gong answers every request after 1 s (7) and 2 s (8), the sandbox enforcing 3/s:
   12,000 calls over 120 days (small transcripts), tap defaults; wall / (Gong requests / 3). Target <= 1.15,
   with 429s <= 1 % of requests; calls and transcripts exactly the sandbox's ids, parties exactly the calls'.
9. Row 6 with 1.5 s latency and 600 calls. Target >= 9 details/s, busiest second <= 10, zero 429s.
10. Gong requests of an hourly schedule (issue 12): 1,000 calls a day over the 7-day look-back; a backfill,
   a run right after (target <= 10 requests), a run an hour later with an hour's new calls, and a full look-back
   (``lookback_interval_hours: 0``) after 5 late calls and 5 late transcripts (target <= 95 requests, <= 12
   transcript requests; the late ones must arrive). Per day: 23 x the hour-later run + 1 x the full look-back,
   and its share of Gong's 10,000/day.
11. The same for Clari, 2,000 calls over 14 days: right after (target <= 40 requests), an hour later, and a
   full look-back after 10 calls changed (target <= 12 /call-details; the 10 must arrive, the listing must
   reach 7 days back). Per day and per week against Clari's 100,000/week.

``--quick`` runs every measurement at tiny sizes (under a minute) and only checks that each produces a number.
"""
