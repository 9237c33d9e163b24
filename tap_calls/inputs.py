"""What a user hands the tap (config, state and catalog files, setting names), checked before any request.

Pure functions: each returns what is usable plus the WARNING lines about the rest, or raises `TapCallsError`
with one line naming the file or setting. `tap.py` logs and raises; `tests/unit/test_inputs.py` covers them.
"""

from __future__ import annotations

import difflib
import json
import sys
import typing as t
from datetime import UTC, datetime
from pathlib import Path

from tap_calls.errors import TapCallsError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Top-level keys of a Singer state besides "bookmarks" that need no warning.
STATE_KEYS = ("bookmarks", "currently_syncing")


def read_json_file(path: str, what: str) -> t.Any:
    """The JSON value in the file at `path` (`-`: stdin); None when the file is empty or blank.

    `what` ("config", "state", "catalog") names the file in the one-line error for a path that does not
    exist or cannot be read, and for text that is not JSON.
    """
    if path == "-":
        text = sys.stdin.read()
    else:
        file = Path(path)
        if not file.exists():
            raise TapCallsError(f"{what} file {path!r} does not exist")
        if file.is_dir():
            raise TapCallsError(f"{what} file {path!r} is a directory, not a file")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TapCallsError(f"{what} file {path!r} is not UTF-8 text (JSON expected)") from None
        except OSError as exc:
            raise TapCallsError(f"{what} file {path!r} cannot be read: {exc.strerror or exc}") from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{what} file {path!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise TapCallsError(msg) from None


def read_config_file(path: str) -> dict[str, t.Any]:
    value = read_json_file(path, "config")
    if value is None:
        msg = f'config file {path!r} is empty: it must hold a JSON object of settings, e.g. {{"start_date": "…"}}'
        raise TapCallsError(msg)
    if not isinstance(value, dict):
        raise TapCallsError(
            f"config file {path!r} holds a JSON {json_type(value)}, not an object of settings"
        )
    return value


def read_catalog_file(path: str) -> dict[str, t.Any]:
    value = read_json_file(path, "catalog")
    hint = "write one with `tap-calls --config CONFIG --discover > catalog.json`"
    if value is None:
        raise TapCallsError(f"catalog file {path!r} is empty: {hint}")
    if not isinstance(value, dict) or not isinstance(value.get("streams"), list):
        raise TapCallsError(f'catalog file {path!r} is not a Singer catalog (no "streams" list): {hint}')
    for i, entry in enumerate(value["streams"]):
        if not isinstance(entry, dict) or not isinstance(
            entry.get("tap_stream_id") or entry.get("stream"), str
        ):
            raise TapCallsError(f"catalog file {path!r}: streams[{i}] has no tap_stream_id: {hint}")
        if not isinstance(entry.get("schema", {}), dict) or not isinstance(entry.get("metadata", []), list):
            raise TapCallsError(
                f"catalog file {path!r}: streams[{i}] has a malformed schema or metadata: {hint}"
            )
    return value


def json_type(value: t.Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like `name` (a typo's intended setting or stream), if any is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_setting_warnings(config: Mapping[str, t.Any], known: Iterable[str]) -> list[str]:
    known = sorted(known)
    lines = []
    for name in sorted(config):
        if name in known:
            continue
        guess = closest(name, known)
        hint = f"did you mean {guess!r}?" if guess else "see `tap-calls --about` for the settings"
        lines.append(f"unknown setting {name!r} is ignored; {hint}")
    return lines


def parse_instant(value: t.Any) -> datetime | None:
    """An RFC 3339 date-time (or a bare date, as midnight UTC) as an aware datetime; None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def usable_state(state: t.Any, streams: Mapping[str, str | None]) -> tuple[dict[str, t.Any], list[str]]:
    """The part of `state` the tap can use, and one WARNING line per part it cannot.

    `streams` maps every stream the tap has (configured or not) to its replication key (None: full table).
    Kept: bookmarks of known streams whose replication key matches and whose value is a date-time, and,
    unchanged, bookmarks of streams the tap does not know (they are carried into every STATE, not used).
    Meltano's own wrappers (`{"singer_state": ...}`, `{"completed": {"singer_state": ...}}`) are unwrapped.
    """
    warnings: list[str] = []
    if state is None or state == {}:
        return {}, warnings
    if not isinstance(state, dict):
        warnings.append(
            f'the state is a JSON {json_type(state)}, not a Singer state (an object with "bookmarks"): '
            "it is ignored and every stream starts from start_date"
        )
        return {}, warnings
    if "bookmarks" not in state:
        inner = state.get("singer_state")
        if inner is None and isinstance(state.get("completed"), dict):
            inner = state["completed"].get("singer_state")
        if isinstance(inner, dict):
            warnings.append('the state is Meltano\'s wrapper of a Singer state: using its "singer_state"')
            state = inner
        else:
            keys = ", ".join(sorted(map(str, state))[:5])
            warnings.append(
                f'the state has no "bookmarks" (its keys: {keys}): it is not a Singer state, so it is ignored '
                "and every stream starts from start_date"
            )
            return {}, warnings
    extra = sorted(k for k in state if k not in STATE_KEYS)
    if extra:
        warnings.append(
            f"the state's top-level keys {', '.join(map(repr, extra))} are not Singer state: ignored"
        )
    bookmarks = state.get("bookmarks")
    if bookmarks is None:
        bookmarks = {}
    if not isinstance(bookmarks, dict):
        warnings.append(f'the state\'s "bookmarks" is a JSON {json_type(bookmarks)}, not an object: ignored')
        return {}, warnings

    usable: dict[str, t.Any] = {}
    unknown: list[str] = []
    for name, given in bookmarks.items():
        if not isinstance(given, dict):
            warnings.append(f"the bookmark of {name} is a JSON {json_type(given)}, not an object: ignored")
            continue
        if name not in streams:
            unknown.append(name)
            usable[name] = given
            continue
        entry = dict(given)
        key = streams[name]
        has_value = "replication_key" in entry or "replication_key_value" in entry
        given_key, value = entry.get("replication_key"), entry.get("replication_key_value")
        reason = None
        if not has_value:
            pass
        elif key is None:
            reason = f"{name} is a full-table stream (it reads everything on each run)"
        elif given_key is not None and given_key != key:
            reason = f"it is for replication key {given_key!r}, but {name} uses {key!r}"
        elif value is None:
            reason = "it has no replication_key_value"
        elif parse_instant(value) is None:
            reason = f"its replication_key_value {value!r} is not an RFC 3339 date-time"
        elif given_key is None:
            warnings.append(f"the bookmark of {name} has no replication_key: taking {value!r} as its {key!r}")
            entry["replication_key"] = key
        if reason:
            what = "" if key is None else f"; {name} starts from start_date"
            warnings.append(f"the bookmark of {name} is not used: {reason}{what}")
            entry.pop("replication_key", None)
            entry.pop("replication_key_value", None)
        if entry:
            usable[name] = entry
    if unknown:
        named = ", ".join(
            f"{n} (did you mean {guess}?)" if (guess := closest(n, streams)) else n for n in sorted(unknown)
        )
        warnings.append(
            f"the state has bookmarks of streams this tap does not have: {named}; they are not used, and are "
            "carried unchanged into every STATE"
        )
    result: dict[str, t.Any] = {"bookmarks": usable}
    return result, warnings
