"""Table versions of full-table streams: every RECORD carries its table version, and ACTIVATE_VERSION comes
only after the stream's full read completed (interface.md, "Third release" > "Deleted calls").

The Singer spec's versioned full table: a stream's RECORD messages carry `version`, and a later
`ACTIVATE_VERSION {version}` tells the target that rows of any older version (or of none) are gone.
MeltanoLabs target-postgres 0.8.1 then sets `_sdc_deleted_at` on every row whose `_sdc_table_version` is older
or null (with `hard_delete: true` it deletes them); a RECORD without `version` loads with a null
`_sdc_table_version`, so its row is marked as deleted by the very ACTIVATE_VERSION that follows it.

singer-sdk 0.54 writes ACTIVATE_VERSION when a full-table sync *starts* (`Stream.sync`, before any request):
a stream then skipped for scope, stopped early (`max_requests_per_run`, a long Retry-After, an error) or not
read at all has announced an empty new version, and the target marks (or deletes) its whole table. Here the
SDK's own message is turned off (`FullTableStream.emit_activate_version_messages` is False) and
`client.FullTableStream.get_records` uses this module instead:

- `stamp(stream, version)` before the first record, so every RECORD of the read carries `version`;
- `activate(stream, version)` once every record of the read was written, and only if the read completed.

Versions are epoch milliseconds (as singer-python taps wrote them), always above the last one a stream kept in
STATE, so two runs within one second still give the second a newer version.

No version in BATCH mode: batch files carry records without `version`, so an ACTIVATE_VERSION would mark every
row they load as deleted (`wanted` says so once per stream).
"""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    from singer_sdk import Stream

# The tap's setting (declared in tap.CONFIG_SCHEMA); on by default for the full-table streams.
SETTING = "emit_activate_version_messages"


def new_version(previous: int | None = None, *, now_ms: int | None = None) -> int:
    """A table version for a read starting now: epoch milliseconds, above `previous` (a version kept in STATE)."""
    version = int(time.time() * 1000) if now_ms is None else now_ms
    return version if previous is None or version > previous else previous + 1


def wanted(stream: Stream) -> bool:
    """Whether `stream` may carry a table version at all: the setting is on and the run is not in BATCH mode.

    In BATCH mode one WARNING says that this stream's deleted rows are not marked (batch files carry no version).
    """
    if not stream.config.get(SETTING, True):
        return False
    if stream.get_batch_config(stream.config):
        if not stream.__dict__.get("_batch_warned"):
            stream.__dict__["_batch_warned"] = True
            stream.logger.warning(
                "%s: no ACTIVATE_VERSION in BATCH mode (batch files carry no table version, so a target would "
                "mark every row they load as deleted); rows of deleted items stay unmarked",
                stream.name,
            )
        return False
    return True


def stamp(stream: Stream, version: int) -> None:
    """Every RECORD `stream` writes from now on carries `version` (the Singer spec's versioned full table)."""
    # private SDK API: Stream._stream_version is what `_generate_record_messages` puts in each RECORD's
    # `version`; the SDK sets it only where it writes its own (too early) ACTIVATE_VERSION.
    # tests/unit/test_sdk_private_names.py fails if it disappears.
    stream._stream_version = version


def unstamp(stream: Stream) -> None:
    """RECORD messages of `stream` carry no version again."""
    stream._stream_version = None  # private SDK API: as `stamp`


def activate(stream: Stream, version: int) -> None:
    """Write ACTIVATE_VERSION `version` for `stream` (and each of its stream-map aliases), after its records."""
    # private SDK API: Stream._write_activate_version_message writes one message per stream map (aliases and
    # copies), the way the SDK's own does; tests/unit/test_sdk_private_names.py fails if it disappears.
    stream._write_activate_version_message(version)
    stream.logger.info(
        "%s: read in full; ACTIVATE_VERSION %d written after its records", stream.name, version
    )
