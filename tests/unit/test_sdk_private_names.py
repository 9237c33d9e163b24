"""The private singer-sdk names tap-calls relies on (each marked "private SDK API" where it is used).

When an SDK upgrade renames or removes one of them, this fails first, naming it, rather than a sync
misbehaving quietly.
"""

from __future__ import annotations

import inspect

import pytest
from singer_sdk import RESTStream, Stream, Tap

PRIVATE_NAMES = [
    # client.SourceStream.sender: authenticate, send, log http_request_duration, validate_response.
    (RESTStream, "_request", ["prepared_request", "context"]),
    # client.SourceStream._write_schema_message: SCHEMA once per stream, not once per child sync.
    (Stream, "_write_schema_message", []),
    # gong.CallsStream.commit / clari.ClariCallsStream.commit: a STATE when a window finishes.
    (Stream, "_write_state_message", []),
    # gong._CallsRun: the SDK's child sync, once per batch of calls.
    (Stream, "_sync_children", ["child_context"]),
    # gong.CallChildStream: bookmarks move only with the parent's watermark.
    (Stream, "_increment_stream_state", ["latest_record"]),
    # tap.TapCalls._validate_config: settings checked (one line each) before any request.
    (Tap, "_validate_config", []),
]


@pytest.mark.parametrize(("owner", "name", "parameters"), PRIVATE_NAMES, ids=[n for _, n, _ in PRIVATE_NAMES])
def test_private_sdk_name_still_exists(owner, name, parameters):
    member = getattr(owner, name, None)
    assert callable(member), f"singer-sdk no longer has {owner.__name__}.{name}: see where tap-calls uses it"
    signature = inspect.signature(member)
    for parameter in parameters:
        assert parameter in signature.parameters, f"{owner.__name__}.{name} lost its {parameter!r} parameter"
