"""`meltano run tap-calls target-postgres` into a real PostgreSQL, from the repo's own meltano.yml.

A session fixture starts Debian's PostgreSQL server binaries (initdb/pg_ctl under /usr/lib/postgresql/*/bin)
in a temporary folder on 127.0.0.1 and a free port, and stops it at the end. As root it runs the server as
the `postgres` user (initdb refuses root). No server binaries is a failure, not a skip: scripts/test.sh
installs them (`apt-get install postgresql`).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox

SCHEMA = "tap_calls"
DATABASE = "tap_calls"
PRIMARY_KEYS = {
    "calls": ["id"],
    "parties": ["call_id", "id"],
    "transcripts": ["call_id"],
    "users": ["id"],
    "clari_calls": ["id"],
    "clari_users": ["id"],
    "clari_topics": ["topic_id"],
    "clari_scorecards": ["id"],
    "clari_scorecard_templates": ["id"],
    "workspaces": ["id"],
    "scorecards": ["scorecard_id"],
    "answered_scorecards": ["answered_scorecard_id"],
    "trackers": ["tracker_id"],
    "call_outcomes": ["call_outcome"],
    "library_folders": ["id"],
    "library_folder_calls": ["folder_id", "call_id", "created"],
    "user_daily_activity": ["user_id", "date"],
    "interaction_stats": ["user_id", "date"],
}
# The third release's streams: loaded too, their rows checked by their own tests below.
MORE_PRIMARY_KEYS = {
    "transcript_sentences": ["call_id", "sentence_index"],
    "clari_transcript_lines": ["call_id", "line_index"],
    "call_ids": ["id"],
    "clari_call_ids": ["id"],
}
# Rate caps far above the vendors' (the sandbox enforces none here): interaction_stats alone is a request per day.
RATES = {"TAP_CALLS_REQUESTS_PER_SECOND": "200", "TAP_CALLS_CLARI_REQUESTS_PER_SECOND": "200"}


def _server_bindir() -> Path:
    """The folder with initdb and pg_ctl: $PG_BINDIR, Debian's newest /usr/lib/postgresql/N/bin, or PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` package "
        "(apt-get install -y postgresql; scripts/test.sh does this as root) or set PG_BINDIR",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    bindir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"

    def psql(self, sql: str, database: str = DATABASE) -> list[list[str]]:
        """Rows of `sql` (one statement), each a list of column strings."""
        proc = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-F",
                "\x1f",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        assert proc.returncode == 0, f"psql failed on {sql!r}: {proc.stderr}"
        return [line.split("\x1f") for line in proc.stdout.splitlines() if line]

    def scalar(self, sql: str) -> str:
        rows = self.psql(sql)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = _server_bindir()
    root = Path(tempfile.mkdtemp(prefix="tap-calls-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs the `postgres` user (Debian's postgresql package adds it)")
        os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def run(*cmd: str, timeout: float = 120) -> None:
        proc = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(
                f"{Path(cmd[0]).name} failed:\n{proc.stdout}{proc.stderr}\n{server_log}", pytrace=False
            )

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=America/New_York"
    )
    # -w waits until the server accepts connections (bounded by -t seconds).
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        pg = Postgres(bindir=bindir, port=port)
        pg.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
        yield pg
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
                capture_output=True,
                timeout=90,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Loaded:
    sb: Sandbox
    pg: Postgres
    workdir: Path
    start: datetime
    env: dict[str, str]


@pytest.fixture(scope="module")
def loaded(meltano, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """One `meltano run tap-calls target-postgres` of the whole sandbox."""
    with Sandbox(seed=2, gong_calls=200, gong_span_days=400, clari_calls=60) as sb:
        workdir = tmp_path_factory.mktemp("meltano-postgres")
        start = sb.now - timedelta(days=401)
        env = meltano.env(
            workdir,
            sb,
            start,
            TARGET_POSTGRES_HOST=postgres.host,
            TARGET_POSTGRES_PORT=str(postgres.port),
            TARGET_POSTGRES_USER=postgres.user,
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
            TARGET_POSTGRES_DATABASE=DATABASE,
            **RATES,
        )
        meltano("--environment=sandbox", "run", "tap-calls", "target-postgres", env=env)
        yield Loaded(sb=sb, pg=postgres, workdir=workdir, start=start, env=env)


def expected_counts(sb: Sandbox, start: datetime) -> dict[str, int]:
    calls = sb.gong.expected_calls(start, None)
    return {
        "calls": len(calls),
        "parties": sum(len(sb.gong.parties(c)) for c in calls),
        "transcripts": sum(1 for c in calls if c.has_transcript),
        "users": len(sb.gong.user_ids()),
        "clari_calls": len(sb.clari.expected_calls(modified_gt=start)),
        "clari_users": len(sb.clari_more.expected_users()),
        "clari_topics": len(sb.clari_more.expected_topics()),
        "clari_scorecards": len(sb.clari_more.expected_scorecards()),
        "clari_scorecard_templates": len(sb.clari_more.expected_templates()),
        **gong_more_counts(sb, start),
    }


def gong_more_counts(sb: Sandbox, start: datetime) -> dict[str, int]:
    """The new Gong streams: every definition, review and folder item; stats days up to the company's yesterday.

    The sandbox's calls begin a day after `start`, so which zone names `start`'s day makes no difference.
    """
    more = sb.gong_more
    first, today = start.date() - timedelta(days=1), more.today()
    return {
        "workspaces": len(sb.gong.workspaces),
        "scorecards": len(more.scorecards),
        "answered_scorecards": len(more.expected_answered()),
        "trackers": len(more.trackers),
        "call_outcomes": len(more.call_outcomes),
        "library_folders": len(more.folders),
        "library_folder_calls": sum(len(more.folder_content(f["id"])["calls"]) for f in more.folders),
        "user_daily_activity": len(more.expected_daily_activity(first, today)),
        "interaction_stats": len(more.expected_interaction_stats(first, today)),
    }


def table_counts(pg: Postgres) -> dict[str, tuple[int, int]]:
    """(rows, distinct primary keys) per table."""
    out = {}
    for table, pk in PRIMARY_KEYS.items():
        cols = ", ".join(pk)
        row = pg.psql(f"SELECT count(*), count(DISTINCT ({cols})) FROM {SCHEMA}.{table}")[0]
        out[table] = (int(row[0]), int(row[1]))
    return out


def column_types(pg: Postgres, table: str, schema: str = SCHEMA) -> dict[str, str]:
    rows = pg.psql(
        "SELECT column_name, data_type, udt_name FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
    )
    return {name: (f"{udt[1:]}[]" if dtype == "ARRAY" else dtype) for name, dtype, udt in rows}


def test_all_five_streams_become_tables_with_every_record(loaded: Loaded) -> None:
    tables = {
        r[0]
        for r in loaded.pg.psql(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}'"
        )
    }
    assert set(PRIMARY_KEYS) <= tables, tables
    expected = expected_counts(loaded.sb, loaded.start)
    assert all(expected.values()), expected
    counts = table_counts(loaded.pg)
    assert {t: n for t, (n, _) in counts.items()} == expected
    assert all(n == distinct for n, distinct in counts.values()), counts


def test_primary_keys(loaded: Loaded) -> None:
    rows = loaded.pg.psql(
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
        "AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name "
        f"WHERE tc.table_schema = '{SCHEMA}' AND tc.constraint_type = 'PRIMARY KEY' "
        "ORDER BY tc.table_name, kcu.ordinal_position"
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    assert found == PRIMARY_KEYS | MORE_PRIMARY_KEYS


def discovered_schemas() -> dict[str, dict]:
    """The tap's own JSON schema per stream (discovery with no credentials lists every stream)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tap_calls", "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_CALLS_")},
    )
    return {s["tap_stream_id"]: s["schema"] for s in json.loads(proc.stdout)["streams"]}


def sql_types_for(prop: dict) -> set[str]:
    """Column types that are a sensible home for values of this JSON schema."""
    kinds = prop.get("type", [])
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    kinds.discard("null")
    if prop.get("format") == "date-time":
        return {"timestamp with time zone"}
    if prop.get("format") == "date":
        return {"date"}
    if kinds == {"boolean"}:
        return {"boolean"}
    if kinds == {"integer"}:
        return {"bigint", "integer", "smallint"}
    if kinds == {"number"}:
        return {"numeric", "double precision"}
    if kinds in ({"object"}, {"array"}):
        return {"jsonb"}
    return {"text", "character varying", "jsonb"}  # strings and mixed types


def test_column_types_fit_the_schema(loaded: Loaded) -> None:
    schemas = discovered_schemas()
    wrong = []
    for table in PRIMARY_KEYS:
        types = column_types(loaded.pg, table)
        for name, prop in schemas[table]["properties"].items():
            allowed = sql_types_for(prop)
            if types.get(name) not in allowed:
                wrong.append(
                    f"{table}.{name}: {types.get(name)} (schema {prop.get('type')}, want {sorted(allowed)})"
                )
    assert not wrong, "\n".join(wrong)

    calls, users = column_types(loaded.pg, "calls"), column_types(loaded.pg, "users")
    assert calls["started"] == "timestamp with time zone"
    assert calls["is_private"] == "boolean"
    assert calls["duration"] == "bigint"
    assert calls["content"] == "jsonb"
    assert calls["parties"] == "jsonb"
    assert users["active"] == "boolean"
    assert users["settings"] == "jsonb"
    assert column_types(loaded.pg, "clari_calls")["last_modified_time"] == "timestamp with time zone"
    assert column_types(loaded.pg, "transcripts")["transcript"] == "jsonb"


def test_timestamps_hold_the_utc_instant(loaded: Loaded) -> None:
    """timestamptz columns, so the instant is right whatever the session's zone (the server's is New York)."""
    truth = {c.id: c.started for c in loaded.sb.gong.expected_calls(loaded.start, None)}
    rows = loaded.pg.psql(
        f"SELECT id, extract(epoch FROM started)::text, pg_typeof(started)::text FROM {SCHEMA}.calls"
    )
    assert len(rows) == len(truth)
    for call_id, epoch, sql_type in rows:
        assert sql_type == "timestamp with time zone"
        assert abs(float(epoch) - truth[call_id].timestamp()) < 1e-3, (
            f"calls.started of {call_id}: epoch {epoch} in the table, {truth[call_id].isoformat()} in Gong"
        )


def test_nested_data_is_queryable_json(loaded: Loaded) -> None:
    """Arrays are plain jsonb: JSON operators reach into them, and each call holds all of its parties."""
    sb = loaded.sb
    truth = {
        c.id: sorted(p["id"] for p in sb.gong.parties(c)) for c in sb.gong.expected_calls(loaded.start, None)
    }
    rows = loaded.pg.psql(
        "SELECT c.id, coalesce(string_agg(p->>'id', ','), '') "
        f"FROM {SCHEMA}.calls c LEFT JOIN LATERAL jsonb_array_elements(c.parties) p ON true GROUP BY c.id"
    )
    assert {call_id: sorted(ids.split(",")) if ids else [] for call_id, ids in rows} == truth
    imported = sum(1 for c in sb.gong.expected_calls(loaded.start, None) if c.imported)
    assert imported, "the sandbox should serve some imported calls, which have no parties"
    assert loaded.pg.scalar(f"SELECT count(*) FROM {SCHEMA}.calls WHERE parties IS NULL") == str(imported)

    # A missing object or array is SQL NULL, never the JSON value null that `IS NULL` does not find.
    json_columns = loaded.pg.psql(
        "SELECT table_name, column_name FROM information_schema.columns "
        f"WHERE table_schema = '{SCHEMA}' AND data_type = 'jsonb'"
    )
    assert len(json_columns) > 10
    json_nulls = " + ".join(
        f"(SELECT count(*) FROM {SCHEMA}.{table} WHERE jsonb_typeof({column}) = 'null')"
        for table, column in json_columns
    )
    assert loaded.pg.scalar(f"SELECT {json_nulls}") == "0"


def readme_speaker_query() -> str:
    """The docs' "what did the customer side say on this call" query (its ```sql block in "Who said what")."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "streams.md").read_text(encoding="utf-8")
    section = text.split("## Who said what", 1)[1].split("\n## ", 1)[0]
    return section.split("```sql\n", 1)[1].split("```", 1)[0]


def test_transcript_speakers_are_inside_the_jsonb(loaded: Loaded) -> None:
    """Who said what (issue 13): each Gong monologue and Clari line carries its speaker inside the jsonb
    `transcript`, as the sandbox's ground truth says; the README's query answers "what did the customer side
    say on this call" from `transcripts` alone."""
    sb, pg = loaded.sb, loaded.pg
    gong_fields = [
        "speaker_name",
        "speaker_email_address",
        "speaker_title",
        "speaker_affiliation",
        "speaker_user_id",
        "speaker_party_id",
    ]
    rows = pg.psql(
        f"SELECT t.call_id, m.n, {', '.join(f'm.value ->> {f!r}' for f in gong_fields)} "
        f"FROM {SCHEMA}.transcripts t CROSS JOIN LATERAL jsonb_array_elements(t.transcript) "
        "WITH ORDINALITY AS m (value, n)"
    )
    got: dict[str, dict[int, list]] = {}
    for call_id, n, *values in rows:
        got.setdefault(call_id, {})[int(n)] = [v or None for v in values]  # psql -A prints SQL NULL as ''
    calls = [c for c in sb.gong.expected_calls(loaded.start, None) if c.has_transcript]
    assert sorted(got) == sorted(c.id for c in calls)
    kinds = set()
    for call in calls:
        truth = sb.gong.expected_speakers(call)
        assert [got[call.id][n] for n in sorted(got[call.id])] == [[t[f] for f in gong_fields] for t in truth]
        kinds |= {t["speaker_affiliation"] for t in truth}
    assert {"Internal", "External", None} <= kinds

    clari_fields = ["speaker_name", "speaker_email", "speaker_user_id", "speaker_affiliation"]
    rows = pg.psql(
        f"SELECT c.id, l.n, {', '.join(f'l.value ->> {f!r}' for f in clari_fields)} "
        f"FROM {SCHEMA}.clari_calls c CROSS JOIN LATERAL jsonb_array_elements(c.transcript) "
        "WITH ORDINALITY AS l (value, n)"
    )
    lines: dict[str, dict[int, list]] = {}
    for call_id, n, *values in rows:
        lines.setdefault(call_id, {})[int(n)] = [v or None for v in values]
    with_transcript = {
        c["id"]: c for c in sb.clari.expected_calls(modified_gt=loaded.start) if c.get("transcript")
    }
    assert sorted(lines) == sorted(with_transcript)
    for call_id in with_transcript:
        truth = sb.clari.expected_speakers(call_id)
        assert [lines[call_id][n] for n in sorted(lines[call_id])] == [
            [t[f] for f in clari_fields] for t in truth
        ]

    # The README's query, for a call where both sides spoke: the customer's sentences, in order.
    call = next(
        c
        for c in calls
        if {"Internal", "External"} <= {t["speaker_affiliation"] for t in sb.gong.expected_speakers(c)}
    )
    expected = [
        [who["speaker_name"] or "", str(s["start"] // 1000), s["text"]]
        for m, who in zip(sb.gong.transcript(call), sb.gong.expected_speakers(call), strict=True)
        if who["speaker_affiliation"] == "External"
        for s in m["sentences"]
    ]
    query = readme_speaker_query().replace("'7782342274025937895'", f"'{call.id}'").strip().rstrip(";")
    assert pg.psql(query) == expected


def test_second_runs_upsert_without_duplicates(meltano, loaded: Loaded) -> None:
    sb, pg = loaded.sb, loaded.pg
    before = table_counts(pg)
    bookmark = datetime.now(UTC)
    late = sb.gong.add_calls(
        1, bookmark - timedelta(days=3), bookmark - timedelta(days=2), has_transcript=True
    )

    # An incremental run with the full look-back (lookback_interval_hours 0): the look-back and the full-table
    # users come again, plus the late call.
    meltano(
        "--environment=sandbox",
        "run",
        "tap-calls",
        "target-postgres",
        env={**loaded.env, "TAP_CALLS_LOOKBACK_INTERVAL_HOURS": "0"},
    )
    after = table_counts(pg)
    assert all(n == distinct for n, distinct in after.values()), after
    assert after["calls"][0] == before["calls"][0] + 1
    assert after["transcripts"][0] == before["transcripts"][0] + 1
    assert after["parties"][0] == before["parties"][0] + len(sb.gong.parties(late[0]))
    assert after["users"] == before["users"]
    assert after["clari_calls"] == before["clari_calls"]
    assert pg.scalar(f"SELECT count(*) FROM {SCHEMA}.calls WHERE id = '{late[0].id}'") == "1"

    # A full refresh sends every record again: still one row per primary key.
    meltano("--environment=sandbox", "run", "--full-refresh", "tap-calls", "target-postgres", env=loaded.env)
    again = table_counts(pg)
    assert again == after
    assert again == {t: (n, n) for t, n in expected_counts(sb, loaded.start).items()}


def test_tables_made_by_the_stock_loader_keep_loading(meltano, postgres: Postgres, tmp_path: Path) -> None:
    """Switching from stock target-postgres: its `timestamp` and array columns stay, and new rows land in them.

    The stock executable is installed in the same plugin venv (the repo's loader depends on it).
    """
    del meltano  # the fixture ran `meltano install`, which made the loader venv
    venv_bin = Path(__file__).resolve().parents[1] / ".meltano/loaders/target-postgres/venv/bin"
    schema = "from_stock"
    loader_config = tmp_path / "target.json"
    loader_config.write_text(
        json.dumps(
            {
                "host": postgres.host,
                "port": postgres.port,
                "user": postgres.user,
                "password": "unused-with-trust-auth",
                "database": DATABASE,
                "default_target_schema": schema,
            }
        )
    )
    with Sandbox(seed=5, gong_calls=40, gong_span_days=30, clari_calls=10) as sb:
        start = sb.now - timedelta(days=31)
        tap_config = tmp_path / "tap.json"
        tap_config.write_text(
            json.dumps({**sb.gong_config(), "start_date": start.isoformat(), "requests_per_second": 50})
        )

        def load(executable: str) -> None:
            messages = subprocess.run(
                [sys.executable, "-m", "tap_calls", "--config", str(tap_config)],
                capture_output=True,
                timeout=120,
                check=True,
            ).stdout
            proc = subprocess.run(
                [str(venv_bin / executable), "--config", str(loader_config)],
                input=messages,
                capture_output=True,
                timeout=120,
                check=False,
                env={**os.environ, "PGTZ": "UTC"},
            )
            assert proc.returncode == 0, f"{executable}: {proc.stderr.decode(errors='replace')[-2000:]}"

        load("target-postgres")
        stock_types = column_types(postgres, "calls", schema) | {
            f"users.{name}": kind for name, kind in column_types(postgres, "users", schema).items()
        }
        late = sb.gong.add_calls(2, sb.now - timedelta(days=2), sb.now - timedelta(days=1))
        load("target-calls-postgres")

        calls = sb.gong.expected_calls(start, None)
        assert {c.id for c in late} <= {c.id for c in calls}
        rows = postgres.psql(
            f"SELECT id, extract(epoch FROM started AT TIME ZONE 'UTC')::text, coalesce(array_length(parties, 1), 0) "
            f"FROM {schema}.calls"
        )
        assert sorted(r[0] for r in rows) == sorted(c.id for c in calls)
        for call_id, epoch, parties in rows:
            call = next(c for c in calls if c.id == call_id)
            assert abs(float(epoch) - call.started.timestamp()) < 1e-3
            assert int(parties) == len(sb.gong.parties(call))
    after = column_types(postgres, "calls", schema) | {
        f"users.{name}": kind for name, kind in column_types(postgres, "users", schema).items()
    }
    assert after == stock_types
    assert after["started"] == "timestamp without time zone"
    assert after["parties"] == "jsonb[]"
    assert after["users.email_aliases"] == "text[]"

    # The README's conversion statements turn such a table into this loader's types, values intact.
    postgres.psql(
        f"ALTER TABLE {schema}.calls ALTER started TYPE timestamptz USING started AT TIME ZONE 'UTC', "
        "ALTER parties TYPE jsonb USING to_jsonb(parties)"
    )
    converted = postgres.psql(
        f"SELECT id, extract(epoch FROM started)::text, coalesce(jsonb_array_length(parties), 0) FROM {schema}.calls"
    )
    assert sorted(converted) == sorted(rows)
    assert column_types(postgres, "calls", schema)["started"] == "timestamp with time zone"


def test_ids_gong_sends_as_numbers_load(meltano, postgres: Postgres, tmp_path: Path) -> None:
    """Gong sends every id as a JSON number (its spec's int64): target-postgres validates the records
    against the schemas (strings) and loads them; party and user ids keep every digit, nested ones too."""
    schema = "numeric_ids"
    with Sandbox(seed=41, gong_calls=80, gong_span_days=20, clari_calls=0, gong_numeric_ids=True) as sb:
        start = sb.now - timedelta(days=21)
        env = meltano.env(
            tmp_path,
            sb,
            start,
            TARGET_POSTGRES_HOST=postgres.host,
            TARGET_POSTGRES_PORT=str(postgres.port),
            TARGET_POSTGRES_USER=postgres.user,
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
            TARGET_POSTGRES_DATABASE=DATABASE,
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
            **RATES,
        )
        meltano("--environment=sandbox", "run", "tap-calls", "target-postgres", env=env)
        calls = sb.gong.expected_calls(start, None)
        parties = {(c.id, p["id"], p.get("userId") or "") for c in calls for p in sb.gong.parties(c.id) or ()}
    rows = postgres.psql(f"SELECT call_id, id, coalesce(user_id, '') FROM {schema}.parties")
    assert {tuple(row) for row in rows} == parties
    nested = postgres.psql(
        f"SELECT DISTINCT jsonb_typeof(p -> 'user_id') FROM {schema}.calls, jsonb_array_elements(parties) AS p "
        "WHERE p -> 'user_id' <> 'null'::jsonb"
    )
    assert nested == [["string"]]
    assert postgres.scalar(f"SELECT count(*) FROM {schema}.users") == str(len(sb.gong.user_ids()))


def doc_sql_blocks() -> list[str]:
    """The ```sql blocks of docs/deleted-calls.md, in order: the deleted calls, the views of calls, parties and
    transcripts, the view of Clari calls, the deleted calls with hard_delete, the DELETE statements."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "deleted-calls.md").read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]


def test_deleted_calls_in_postgres(meltano, postgres: Postgres, tmp_path: Path) -> None:
    """Issue 28 end to end: calls deleted in the sandbox are marked in `call_ids` at the next complete read (or
    removed with hard_delete), the doc's views return every other call, and full-table streams skipped for scope
    or stopped early keep their rows unmarked (issue 27)."""
    schema = "deleted_calls"
    pg = postgres
    sql = [block.replace("tap_calls.", f"{schema}.") for block in doc_sql_blocks()]
    assert len(sql) == 5, "docs/deleted-calls.md: five sql blocks expected"
    streams = [
        "calls",
        "parties",
        "transcripts",
        "users",
        "trackers",
        "call_ids",
        "clari_calls",
        "clari_call_ids",
    ]
    with Sandbox(seed=21, gong_calls=180, gong_span_days=200, clari_calls=50, clari_span_days=200) as sb:
        start = sb.now - timedelta(days=201)
        env = meltano.env(
            tmp_path,
            sb,
            start,
            TARGET_POSTGRES_HOST=pg.host,
            TARGET_POSTGRES_PORT=str(pg.port),
            TARGET_POSTGRES_USER=pg.user,
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
            TARGET_POSTGRES_DATABASE=DATABASE,
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
            TAP_CALLS__SELECT=json.dumps([f"{s}.*" for s in streams]),
            TAP_CALLS_CALL_IDS_INTERVAL_HOURS="0",
            **RATES,
        )

        def run(**settings: str) -> None:
            meltano("--environment=sandbox", "run", "tap-calls", "target-postgres", env={**env, **settings})

        def ids(query: str) -> set[str]:
            return {row[0] for row in pg.psql(query)}

        def marked(table: str) -> int:
            return int(pg.scalar(f"SELECT count(*) FROM {schema}.{table} WHERE _sdc_deleted_at IS NOT NULL"))

        run()
        gong = {c.id for c in sb.gong.expected_calls(None, None)}
        clari = {c["id"] for c in sb.clari.expected_calls(modified_gt=start, include_unknown_to_details=True)}
        assert ids(f"SELECT id FROM {schema}.call_ids") == gong
        assert ids(f"SELECT id FROM {schema}.clari_call_ids") == clari
        assert marked("call_ids") == marked("clari_call_ids") == marked("users") == marked("trackers") == 0
        trackers, users = (
            int(pg.scalar(f"SELECT count(*) FROM {schema}.{t}")) for t in ("trackers", "users")
        )
        assert trackers and users

        with_transcripts = sorted(c.id for c in sb.gong.expected_calls(None, None) if c.has_transcript)
        gone = with_transcripts[::40][:4]
        gone_clari = sorted(ids(f"SELECT id FROM {schema}.clari_calls"))[:2]
        sb.gong.delete_calls(gone)
        sb.clari.delete_calls(gone_clari)
        sb.gong_missing_scopes.add("api:settings:trackers:read")  # trackers is skipped in the next run
        run()
        sb.gong_missing_scopes.clear()
        # The doc's query lists exactly the deleted calls; the views return every other call.
        assert ids(sql[0]) == set(gone)
        assert marked("call_ids") == len(gone) and marked("clari_call_ids") == len(gone_clari)
        pg.psql(sql[1])
        pg.psql(sql[2])
        calls = ids(f"SELECT id FROM {schema}.calls")
        assert set(gone) <= calls  # calls keeps the rows: the views leave them out
        assert ids(f"SELECT id FROM {schema}.existing_calls") == calls - set(gone)
        assert ids(f"SELECT DISTINCT call_id FROM {schema}.existing_parties") == ids(
            f"SELECT DISTINCT call_id FROM {schema}.parties"
        ) - set(gone)
        assert ids(f"SELECT call_id FROM {schema}.existing_transcripts") == ids(
            f"SELECT call_id FROM {schema}.transcripts"
        ) - set(gone)
        assert ids(f"SELECT id FROM {schema}.existing_clari_calls") == ids(
            f"SELECT id FROM {schema}.clari_calls"
        ) - set(gone_clari)
        # Skipped for scope: the rows stay unmarked.
        assert (
            marked("trackers") == 0 and int(pg.scalar(f"SELECT count(*) FROM {schema}.trackers")) == trackers
        )

        # Stopped early by the request budget: nothing more is marked, neither the call deleted meanwhile nor users.
        later = sorted(gong - set(gone))[7]
        sb.gong.delete_calls([later])
        run(TAP_CALLS_MAX_REQUESTS_PER_RUN="1")
        assert marked("call_ids") == len(gone) and marked("users") == 0 and marked("trackers") == 0

        # hard_delete: the read continues and completes; the rows of deleted calls leave call_ids.
        run(TARGET_POSTGRES_HARD_DELETE="true")
        deleted = {*gone, later}
        assert ids(f"SELECT id FROM {schema}.call_ids") == gong - deleted
        assert marked("call_ids") == 0
        assert ids(sql[3]) == deleted
        pg.psql(sql[4])
        assert ids(f"SELECT id FROM {schema}.calls") == gong - deleted
        assert not ids(f"SELECT call_id FROM {schema}.transcripts") & deleted
        assert not ids(f"SELECT call_id FROM {schema}.parties") & deleted
        assert marked("users") == 0 and marked("trackers") == 0


# ------------------------------------------------------------------------------------- transcripts as rows

ROWS_DATABASE = "tap_calls_rows"
ROWS_DOC = Path(__file__).resolve().parents[1] / "docs" / "transcript-rows.md"
EXAMPLE_CALL = "'7782342274025937895'"


def doc_queries() -> list[str]:
    """The ```sql blocks of docs/transcript-rows.md, in order: customer side, last week's questions, one call as
    a text, dropping stale rows."""
    text = ROWS_DOC.read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]
    assert len(blocks) == 4, f"docs/transcript-rows.md should hold 4 sql blocks, not {len(blocks)}"
    return blocks


@dataclass
class RowsLoaded:
    sb: Sandbox
    pg: Postgres
    start: datetime

    def psql(self, sql: str) -> list[list[str]]:
        return self.pg.psql(sql, database=ROWS_DATABASE)

    def sentences(self) -> dict[str, list[dict]]:
        calls = self.sb.gong.expected_calls(self.start, None)
        return {c.id: self.sb.gong.expected_sentences(c) for c in calls if c.has_transcript}


@pytest.fixture(scope="module")
def rows_loaded(
    meltano, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RowsLoaded]:
    """`meltano run tap-calls target-postgres` of the row streams and their parents, into a database of their
    own, from a sandbox whose calls all lie in the last three weeks (so "last week" holds some)."""
    with Sandbox(seed=31, gong_calls=150, gong_span_days=20, clari_calls=30, clari_span_days=20) as sb:
        workdir = tmp_path_factory.mktemp("meltano-postgres-rows")
        start = sb.now - timedelta(days=21)
        postgres.psql(f"CREATE DATABASE {ROWS_DATABASE}", database="postgres")
        streams = ["transcripts", "transcript_sentences", "clari_calls", "clari_transcript_lines"]
        env = meltano.env(
            workdir,
            sb,
            start,
            TARGET_POSTGRES_HOST=postgres.host,
            TARGET_POSTGRES_PORT=str(postgres.port),
            TARGET_POSTGRES_USER=postgres.user,
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
            TARGET_POSTGRES_DATABASE=ROWS_DATABASE,
            TAP_CALLS__SELECT=json.dumps([f"{name}.*" for name in streams]),
            **RATES,
        )
        meltano("--environment=sandbox", "run", "tap-calls", "target-postgres", env=env)
        yield RowsLoaded(sb=sb, pg=postgres, start=start)


def test_row_tables_have_typed_columns_and_every_row(rows_loaded: RowsLoaded) -> None:
    sb = rows_loaded.sb
    types = {
        table: {
            name: kind
            for name, kind, _ in rows_loaded.psql(
                "SELECT column_name, data_type, udt_name FROM information_schema.columns "
                f"WHERE table_schema = '{SCHEMA}' AND table_name = '{table}'"
            )
        }
        for table in ("transcript_sentences", "clari_transcript_lines")
    }
    sentences, lines = types["transcript_sentences"], types["clari_transcript_lines"]
    assert (sentences["start"], sentences["end"], sentences["text"]) == ("bigint", "bigint", "text")
    assert (sentences["sentence_index"], sentences["call_started"]) == ("bigint", "timestamp with time zone")
    assert (lines["start"], lines["end"], lines["text"]) == ("double precision", "double precision", "text")
    assert lines["annotations"] == "jsonb"
    truth = rows_loaded.sentences()
    count = rows_loaded.psql(
        f"SELECT count(*), count(DISTINCT (call_id, sentence_index)) FROM {SCHEMA}.transcript_sentences"
    )
    assert count == [[str(sum(map(len, truth.values())))] * 2]
    clari = [
        sb.clari.expected_lines(c["id"]) or [] for c in sb.clari.expected_calls(modified_gt=rows_loaded.start)
    ]
    count = rows_loaded.psql(
        f"SELECT count(*), count(*) FILTER (WHERE start IS NULL) FROM {SCHEMA}.clari_transcript_lines"
    )
    nan = sum(1 for rows in clari for r in rows if r["start"] is None)
    assert count == [[str(sum(map(len, clari))), str(nan)]]
    # Seconds stay exact: the sum of every line's start as Clari sent it.
    total = sum(r["start"] for rows in clari for r in rows if r["start"] is not None)
    assert (
        abs(float(rows_loaded.psql(f"SELECT sum(start) FROM {SCHEMA}.clari_transcript_lines")[0][0]) - total)
        < 1e-6
    )


def test_doc_query_customer_side_of_one_call(rows_loaded: RowsLoaded) -> None:
    truth = rows_loaded.sentences()
    call_id = next(
        c for c, rows in truth.items() if {"Internal", "External"} <= {r["speaker_affiliation"] for r in rows}
    )
    query = doc_queries()[0].replace(EXAMPLE_CALL, f"'{call_id}'")
    expected = [
        [r["speaker_name"] or "", str(r["start"] // 1000), r["text"]]
        for r in truth[call_id]
        if r["speaker_affiliation"] == "External"
    ]
    assert expected and rows_loaded.psql(query) == expected


def test_doc_query_questions_each_rep_asked_last_week(rows_loaded: RowsLoaded) -> None:
    ((since, until),) = rows_loaded.psql(
        "SELECT extract(epoch FROM date_trunc('week', now()) - interval '1 week'), "
        "extract(epoch FROM date_trunc('week', now()))"
    )
    calls = {
        c.id: c
        for c in rows_loaded.sb.gong.expected_calls(rows_loaded.start, None)
        if float(since) <= c.started.timestamp() < float(until)
    }
    expected = sorted(
        (r["speaker_name"], r["call_id"], r["text"])
        for call_id, rows in rows_loaded.sentences().items()
        if call_id in calls
        for r in rows
        if r["speaker_affiliation"] == "Internal" and r["text"].rstrip().endswith("?")
    )
    got = rows_loaded.psql(doc_queries()[1])
    assert len(expected) > 5, "the sandbox should hold questions asked last week"
    assert sorted((rep, call_id, question) for rep, call_id, _, question in got) == expected
    groups = [rep for rep, _ in itertools.groupby(rep for rep, *_ in got)]
    assert len(groups) == len(set(groups)), "each rep's questions together"


def test_doc_query_one_call_as_a_text(rows_loaded: RowsLoaded) -> None:
    truth = rows_loaded.sentences()
    call_id = max(truth, key=lambda c: len({r["speaker_affiliation"] for r in truth[c]}))
    query = doc_queries()[2].replace(EXAMPLE_CALL, f"'{call_id}'")
    expected = [
        f"{r['speaker_name'] or 'Unknown speaker'} ({r['speaker_affiliation'] or 'Unknown'}): {r['text']}"
        for r in truth[call_id]
    ]
    assert [line for (line,) in rows_loaded.psql(query)] == expected


def test_doc_statements_drop_rows_of_an_older_longer_transcript(rows_loaded: RowsLoaded) -> None:
    """A row past the newest transcript's end (as an older, longer version left it) is dropped; no other."""
    before = {
        table: rows_loaded.psql(f"SELECT count(*) FROM {SCHEMA}.{table}")[0][0]
        for table in ("transcript_sentences", "clari_transcript_lines")
    }
    rows_loaded.psql(
        f"INSERT INTO {SCHEMA}.transcript_sentences (call_id, sentence_index, text) "
        f"SELECT call_id, sentence_count, 'left over' FROM {SCHEMA}.transcripts "
        f"UNION ALL SELECT call_id, sentence_count + 7, 'left over' FROM {SCHEMA}.transcripts"
    )
    rows_loaded.psql(
        f"INSERT INTO {SCHEMA}.clari_transcript_lines (call_id, line_index, text) "
        f"SELECT id, transcript_line_count, 'left over' FROM {SCHEMA}.clari_calls"
    )
    rows_loaded.psql(doc_queries()[3])
    after = {table: rows_loaded.psql(f"SELECT count(*) FROM {SCHEMA}.{table}")[0][0] for table in before}
    assert after == before
    assert rows_loaded.psql(
        f"SELECT count(*) FROM {SCHEMA}.transcript_sentences WHERE text = 'left over'"
    ) == [["0"]]
