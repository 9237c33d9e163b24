"""MeltanoLabs target-postgres, with the column types a warehouse user expects for tap-calls.

The stock loader (0.8.1) creates every `date-time` column as `timestamp without time zone`, so the
stored value depends on the loading session's time zone, and every array as a Postgres array
(`jsonb[]`, `text[]`), which JSON operators and most BI tools cannot read; a missing object or array
becomes the JSON value `null`, which `IS NULL` does not find. It offers no setting for any of this, and
`x-sql-datatype` is only honoured for integer widths and pgvector. This subclass changes those
mappings and nothing else: `date-time` -> `timestamp with time zone`; object and array -> `jsonb`,
with a missing value stored as SQL NULL; and it honours `x-sql-datatype: double precision` (Clari's transcript
seconds in `clari_transcript_lines`), which the stock loader ignores (it makes every number `numeric`).

Tables that already exist keep their column types: the SDK's type merge prefers the current column,
and values are written as the existing column holds them, so switching from the stock loader never
alters a table and keeps loading into it.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

import sqlalchemy
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql.connector import JSONSchemaToSQL
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB, TIMESTAMP
from target_postgres.connector import PostgresConnector
from target_postgres.sinks import PostgresSink
from target_postgres.target import TargetPostgres


def _timestamptz(_schema: dict) -> TIMESTAMP:
    return TIMESTAMP(timezone=True)


def _jsonb(_schema: dict) -> JSONB:
    return JSONB(none_as_null=True)


def _double(_schema: dict) -> DOUBLE_PRECISION:
    return DOUBLE_PRECISION()


class CallsPostgresConnector(PostgresConnector):
    @cached_property
    def jsonschema_to_sql(self) -> JSONSchemaToSQL:
        to_sql = super().jsonschema_to_sql
        to_sql.register_format_handler("date-time", _timestamptz)
        to_sql.register_type_handler("object", _jsonb)
        to_sql.register_type_handler("array", _jsonb)
        to_sql.register_sql_datatype_handler("double precision", _double)
        return to_sql


class CallsPostgresSink(PostgresSink):
    connector_class = CallsPostgresConnector

    def bulk_insert_records(  # type: ignore[override]
        self,
        table: sqlalchemy.Table,
        schema: dict[str, t.Any],
        records: t.Iterable[dict[str, t.Any]],
        primary_keys: t.Sequence[str],
        connection: sqlalchemy.engine.Connection,
    ) -> int | None:
        self._existing_columns = table.columns
        try:
            return super().bulk_insert_records(table, schema, records, primary_keys, connection)
        finally:
            self._existing_columns = None

    def column_representation(self, schema: dict[str, t.Any]) -> list[sqlalchemy.Column]:
        # A table made by the stock loader has `timestamp` and array columns: bind values the way those
        # columns take them, or a jsonb-encoded list would be sent to a jsonb[] column.
        columns = super().column_representation(schema)
        existing = getattr(self, "_existing_columns", None)
        if existing is None:
            return columns
        return [
            sqlalchemy.Column(c.name, existing[c.name].type)
            if c.name in existing and str(existing[c.name].type) != str(c.type)
            else c
            for c in columns
        ]


MISSING_CONNECTION = (
    "PostgreSQL connection settings are missing: set host, port, user, password and database "
    "(e.g. `meltano config set target-postgres password ...`, which keeps it in .env, or the environment "
    "variable TARGET_POSTGRES_PASSWORD), or set sqlalchemy_url instead"
)


class TargetCallsPostgres(TargetPostgres):
    # Keeps the stock name, so settings, env vars (TARGET_POSTGRES_*) and --about stay those of target-postgres.
    default_sink_class = CallsPostgresSink

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        # The stock loader asserts the connection settings (a bare AssertionError and its traceback); the
        # SDK's command prints a ConfigValidationError as lines without one.
        try:
            super().__init__(*args, **kwargs)
        except AssertionError as exc:
            if "sqlalchemy_url" not in str(exc):
                raise
            raise ConfigValidationError(MISSING_CONNECTION, errors=[MISSING_CONNECTION]) from None


if __name__ == "__main__":
    TargetCallsPostgres.cli()
