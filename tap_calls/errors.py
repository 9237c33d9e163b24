"""The errors a user can act on, and the exceptions that steer a sync.

`TapCallsError` and its subclasses are printed as one line without a traceback (`TapCalls.invoke`);
the others never reach the user: the stream that raised them handles them.
"""

from __future__ import annotations


class TapCallsError(Exception):
    """An error the user can act on; printed as one line, without a traceback, with a non-zero exit."""


class AuthError(TapCallsError):
    """401/403 with credentials that work nowhere: wrong, expired, or an IP not allowed."""


class RetryWaitTooLong(TapCallsError):
    """The API asked to wait longer than `max_retry_wait_seconds` (Gong's spent daily quota, say)."""


class StopSource(Exception):
    """Ends every stream of one source for this run, with one WARNING, exit 0 (see `RequestBudgetSpent`)."""


class RequestBudgetSpent(StopSource):
    """`max_requests_per_run` requests went to this source: the run stops it like a quota stop."""


class ScopeMissing(Exception):
    """Gong refused one endpoint for a missing OAuth scope; only the streams reading it are skipped.

    Source: reference/more_endpoints.md §0.2 (401 "You don't have permission to use 'api:…' in your app.").
    """

    def __init__(self, scope: str, endpoint: str, detail: str) -> None:
        super().__init__(f"{endpoint}: {detail}")
        self.scope = scope
        self.endpoint = endpoint
        self.detail = detail


class CursorExpired(Exception):
    """Gong's 400 "cursor has expired": the chain is read again from its first page."""
