"""Schemas of `call_ids` and `clari_call_ids` (interface.md, "Third release" > "Deleted calls").

Ids are strings; every field but the key nullable; fields the API adds later are not passed through (these
streams list ids, nothing more).
"""

from __future__ import annotations

from singer_sdk import typing as th

CALL_IDS_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("started", th.DateTimeType),
    th.Property("workspace_id", th.StringType),
    th.Property("is_private", th.BooleanType),
).to_dict()

CLARI_CALL_IDS_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("time", th.DateTimeType),
    th.Property("last_modified_time", th.DateTimeType),
    th.Property("status", th.StringType),
).to_dict()
