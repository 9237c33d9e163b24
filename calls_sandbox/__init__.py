"""A local, deterministic stand-in for the Gong v2 and Clari Copilot REST APIs.

A real HTTP server on 127.0.0.1 that behaves as ``/work/shared/reference/gong_api.md`` (§2-5) and
``clari_api.md`` (§1-3) describe, awkward parts included: fixed 100-record Gong pages with expiring,
request-bound cursors in the POST body, 404 for empty windows, 400 for ``callIds: []``, non-chronological order,
absent keys, Clari's ``skip <= 10000`` offset paging with omitted fields, plus rate limits and injectable faults.
The tap never imports it; tests, a demo and a benchmark do::

    from calls_sandbox import Sandbox

    with Sandbox(seed=1, gong_calls=500) as sb:
        config = {**sb.gong_config(), **sb.clari_config()}
        ...
        assert {r.path for r in sb.log} >= {"/v2/calls/extensive"}

Run it as a process with ``python -m calls_sandbox`` (see ``calls_sandbox.__main__``).
"""

from .data import ClariCall, GongCall
from .server import Sandbox, Served

__all__ = ["ClariCall", "GongCall", "Sandbox", "Served"]
