"""A DuckDB loader (a singer-sdk target) that keeps every record: one table per stream, upserted by its key.

Meltano Hub's `target-duckdb` 0.8.0 loads through a CSV `COPY` that silently drops the first record of many
streams (docs/warehouses.md has the counts). This loader writes each batch as newline-delimited JSON to a
temporary file and inserts it with DuckDB's own `read_json`, typed by the stream's schema, so no row can be
mistaken for a header:

- a table per stream in `default_target_schema` (default `tap_calls`) of the database file `path`;
- columns from the schema: `date-time` strings TIMESTAMPTZ, `date` DATE, other strings VARCHAR, integers BIGINT,
  numbers DOUBLE, booleans BOOLEAN, objects, arrays and mixed types JSON (query them with `->>` and
  `json_extract`); a property added by a later SCHEMA becomes a new column;
- a stream with key properties gets a PRIMARY KEY and `INSERT OR REPLACE` (a re-read record replaces its row;
  within a batch the last copy wins); one without is appended;
- ACTIVATE_VERSION is ignored (one INFO line): rows of records a full-table stream no longer lists are kept.
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t
from pathlib import Path

import duckdb
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

_CONNECTIONS: dict[str, duckdb.DuckDBPyConnection] = {}


def connection(path: str) -> duckdb.DuckDBPyConnection:
    """A cursor on the run's one connection to the database file (DuckDB allows one writing process per file;
    the SDK drains sinks in parallel threads, and each needs a cursor of its own). Close it after use."""
    if path not in _CONNECTIONS:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _CONNECTIONS[path] = duckdb.connect(path, config={"autoinstall_known_extensions": False})
    cursor = _CONNECTIONS[path].cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    return cursor


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_type(prop: dict[str, t.Any]) -> str:
    """The DuckDB type of a JSON schema property."""
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else [x for x in types if x != "null"]
    if len(types) != 1 or "anyOf" in prop or "oneOf" in prop:
        return "JSON"
    kind = types[0]
    if kind == "string":
        return {"date-time": "TIMESTAMPTZ", "date": "DATE"}.get(prop.get("format", ""), "VARCHAR")
    return {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}.get(kind, "JSON")


class DuckDBSink(BatchSink):
    """One stream's table; each batch inserted with `read_json` from a temporary NDJSON file."""

    max_size = 10_000

    @property
    def table(self) -> str:
        schema = self.config.get("default_target_schema") or "tap_calls"
        return f"{quote(schema)}.{quote(self.stream_name.replace('-', '_'))}"

    @property
    def columns(self) -> dict[str, str]:
        return {name: column_type(prop) for name, prop in self.schema.get("properties", {}).items()}

    def setup(self) -> None:
        with connection(self.config["path"]) as con:
            self._create(con)

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        schema = self.config.get("default_target_schema") or "tap_calls"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        columns = ", ".join(f"{quote(name)} {kind}" for name, kind in self.columns.items())
        key = (
            f", PRIMARY KEY ({', '.join(quote(k) for k in self.key_properties)})"
            if self.key_properties
            else ""
        )
        con.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({columns}{key})")
        existing = {
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [schema, self.stream_name.replace("-", "_")],
            ).fetchall()
        }
        for name, kind in self.columns.items():
            if name not in existing:  # a property a later SCHEMA added
                con.execute(f"ALTER TABLE {self.table} ADD COLUMN {quote(name)} {kind}")

    def process_batch(self, context: dict) -> None:
        records: list[dict] = context.get("records", [])
        if not records:
            return
        if self.key_properties:  # INSERT OR REPLACE refuses two rows with one key in the same statement
            latest = {
                tuple(json.dumps(r.get(k), default=str) for k in self.key_properties): r for r in records
            }
            records = list(latest.values())
        columns = self.columns
        spec = ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in columns.items())
        names = ", ".join(quote(name) for name in columns)
        verb = "INSERT OR REPLACE" if self.key_properties else "INSERT"
        fd, tmp = tempfile.mkstemp(suffix=".jsonl", prefix=f"{self.stream_name}-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps({k: record.get(k) for k in columns}, default=str) + "\n")
            with connection(self.config["path"]) as con:
                con.execute(
                    f"{verb} INTO {self.table} ({names}) SELECT {names} FROM read_json({literal(tmp)}, "  # noqa: S608
                    f"format = 'newline_delimited', columns = {{{spec}}})"
                )
        finally:
            os.unlink(tmp)
        self.logger.info("Loaded %d rows into %s", len(records), self.table)

    def activate_version(self, new_version: int) -> None:
        self.logger.info(
            "%s: ACTIVATE_VERSION %d ignored (rows are never deleted)", self.stream_name, new_version
        )


class TargetCallsDuckDB(Target):
    """DuckDB loader for tap-calls: a table per stream, upserted by primary key, no record lost."""

    name = "target-calls-duckdb"
    default_sink_class = DuckDBSink
    config_jsonschema = th.PropertiesList(
        th.Property(
            "path",
            th.StringType,
            default="output/tap_calls.duckdb",
            title="Database file",
            description="The DuckDB database file (created when missing), relative to the working directory.",
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            default="tap_calls",
            title="Schema",
            description="The schema the tables are created in.",
        ),
    ).to_dict()


if __name__ == "__main__":
    TargetCallsDuckDB.cli()
