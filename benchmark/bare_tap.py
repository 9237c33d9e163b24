"""A bare singer-sdk tap: one plain ``Stream`` that emits records read back from a JSONL file.

The yardstick of metric 4: the SDK's default write path (default ``TYPE_CONFORMANCE_LEVEL``, default message
writer, no replication key) with nothing else to do but ``json.loads`` one line per record. Settings:
``schema_path`` (a Singer SCHEMA message, as the tap emitted it) and ``records_path`` (one record per line).

One change to the schema: the SDK's recursive type conformance raises ``EmptySchemaTypeError`` on a list value
whose property schema is ``{}`` ("any": Gong's CRM field ``value``, which can be a multi-select list), so each
``{}`` becomes the equivalent explicit ``{"type": [every JSON type]}``, which conformance passes through as is.

Run: ``python -m benchmark.bare_tap --config FILE``.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


ANY_JSON = {"type": ["array", "boolean", "integer", "null", "number", "object", "string"]}


def explicit_any(schema: dict) -> dict:
    """``schema`` with every empty sub-schema ``{}`` (a property's, an array's items) spelled out as ``ANY_JSON``."""
    if not schema:
        return dict(ANY_JSON)
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: explicit_any(sub) for name, sub in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = explicit_any(out["items"])
    for combinator in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(combinator), list):
            out[combinator] = [explicit_any(sub) for sub in out[combinator]]
    return out


class FileStream(Stream):
    """Records from ``records_path``, one JSON object a line."""

    def get_records(self, context: Context | None) -> Iterable[dict]:
        with open(self.config["records_path"], encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


class BareTap(Tap):
    name = "bare-tap"
    config_jsonschema = th.PropertiesList(
        th.Property("schema_path", th.StringType, required=True),
        th.Property("records_path", th.StringType, required=True),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        message = json.loads(Path(self.config["schema_path"]).read_text(encoding="utf-8"))
        stream = FileStream(self, name=message["stream"], schema=explicit_any(message["schema"]))
        stream.primary_keys = list(message.get("key_properties") or [])
        return [stream]


if __name__ == "__main__":
    BareTap.cli()
