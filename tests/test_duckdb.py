"""`meltano run tap-calls target-duckdb` (loaders/target-calls-duckdb) keeps every record of every stream.

Meltano Hub's target-duckdb 0.8.0 silently drops the first record of many streams (docs/warehouses.md). Here the
same sandbox is extracted twice with the repo's meltano.yml: into target-jsonl, which writes what the tap sent,
and into this repo's DuckDB loader. Every stream's table must hold exactly the keys the tap sent (the first
record included), the call streams must hold the sandbox's ground truth, columns have warehouse types, and a
second run that re-reads the look-back upserts (one row per key) instead of appending.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from calls_sandbox import Sandbox
from tests.conftest import Meltano
from tests.harness import sandbox_fixture

RATES = {"TAP_CALLS_REQUESTS_PER_SECOND": "50", "TAP_CALLS_CLARI_REQUESTS_PER_SECOND": "50"}
DAYS = 70

sandbox = sandbox_fixture(seed=32, gong_calls=240, gong_span_days=60, clari_calls=40, clari_span_days=60)


def key_properties() -> dict[str, list[str]]:
    """The key properties the tap declared per stream (from its catalog, via discovery)."""
    from tap_calls.tap import TapCalls

    catalog = TapCalls(config={}, parse_env_config=False, validate_config=False).catalog_dict
    return {entry["tap_stream_id"]: list(entry["key_properties"]) for entry in catalog["streams"]}


def norm(value: object) -> str:
    """A key value as text, instants in UTC: the JSON has the API's offsets, DuckDB gives datetimes."""
    if isinstance(value, str) and "T" in value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)


def sent_keys(folder: Path, keys: dict[str, list[str]]) -> dict[str, set[tuple]]:
    out = {}
    for path in sorted(folder.glob("*.jsonl")):
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[path.stem] = {tuple(norm(r[k]) for k in keys[path.stem]) for r in records}
    return out


def table_keys(db: Path, keys: dict[str, list[str]]) -> dict[str, set[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tap_calls'"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            columns = ", ".join(f'"{k}"' for k in keys[table])
            rows = con.execute(f'SELECT {columns} FROM tap_calls."{table}"').fetchall()
            out[table] = {tuple(norm(v) for v in row) for row in rows}
        return out


@pytest.fixture(scope="module")
def loaded(meltano: Meltano, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("duckdb")
    start = sandbox.now - timedelta(days=DAYS)
    jsonl_env = meltano.env(
        work / "jsonl", sandbox, start, TARGET_JSONL_DESTINATION_PATH=str(work / "out"), **RATES
    )
    meltano("--environment=sandbox", "run", "tap-calls", "target-jsonl", env=jsonl_env)
    db = work / "calls.duckdb"
    duck_env = meltano.env(work / "duck", sandbox, start, TARGET_DUCKDB_PATH=str(db), **RATES)
    meltano("--environment=sandbox", "run", "tap-calls", "target-duckdb", env=duck_env)
    return {"work": work, "db": db, "start": start, "env": duck_env}


def test_every_stream_keeps_every_record(loaded: dict) -> None:
    keys = key_properties()
    sent, stored = sent_keys(loaded["work"] / "out", keys), table_keys(loaded["db"], keys)
    assert len(sent) >= 18, sorted(sent)
    assert set(stored) == set(sent)
    for stream, expected in sent.items():
        assert expected, f"the tap sent no {stream}: the test proves nothing for it"
        assert stored[stream] == expected, (stream, len(stored[stream]), len(expected))


def test_the_call_streams_hold_the_sandbox_ground_truth(sandbox: Sandbox, loaded: dict) -> None:
    calls = sandbox.gong.expected_calls(loaded["start"], None)
    with duckdb.connect(str(loaded["db"]), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = dict(con.execute("SELECT id, started FROM tap_calls.calls").fetchall())
        assert {k: v.timestamp() for k, v in rows.items()} == {c.id: c.started.timestamp() for c in calls}
        parties = con.execute("SELECT count(*) FROM tap_calls.parties").fetchone()[0]
        assert parties == sum(len(sandbox.gong.parties(c)) for c in calls)
        clari = {r[0] for r in con.execute("SELECT id FROM tap_calls.clari_calls").fetchall()}
        assert clari == {c["id"] for c in sandbox.clari.expected_calls(modified_gt=loaded["start"])}
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'tap_calls' AND table_name = 'calls'"
            ).fetchall()
        )
        assert types["started"] == "TIMESTAMP WITH TIME ZONE"
        assert types["duration"] == "BIGINT"
        assert types["parties"] == "JSON"
        first = calls[0]
        names = con.execute(
            "SELECT list_sort(list(p->>'name')) FROM tap_calls.calls, unnest(CAST(parties AS JSON[])) AS u(p) "
            "WHERE id = ?",
            [first.id],
        ).fetchone()[0]
        assert names == sorted(p.get("name") for p in sandbox.gong.parties(first))


def test_a_second_run_upserts_one_row_per_key(meltano: Meltano, loaded: dict) -> None:
    keys = key_properties()
    before = table_keys(loaded["db"], keys)
    env = {**loaded["env"], "TAP_CALLS_LOOKBACK_INTERVAL_HOURS": "0"}  # re-read the whole look-back
    meltano("--environment=sandbox", "run", "tap-calls", "target-duckdb", env=env)
    after = table_keys(loaded["db"], keys)
    assert after == before
    with duckdb.connect(str(loaded["db"]), read_only=True) as con:
        for table, expected in after.items():
            assert con.execute(f'SELECT count(*) FROM tap_calls."{table}"').fetchone()[0] == len(expected), (
                table
            )
