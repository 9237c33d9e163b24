"""``python -m benchmark``: tap-calls against the API sandbox, six figures in one table (issue 5).

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

``--quick`` runs every measurement at tiny sizes (under a minute) and only checks that each produces a number.
"""
