"""Answers from a folder of the tap's JSONL files (target-jsonl's `<stream>.jsonl`), computed by DuckDB.

    python scripts/demo_answers.py output/demo          # what scripts/demo.sh prints at its end

Four questions a sales team asks of its call data, each one SQL query over the files (no database to load):

- `calls_per_week`: Gong calls (`calls.started`) and Clari calls (`clari_calls.time`) per ISO week (Monday,
  UTC), the `weeks` latest weeks up to the newest call, empty weeks included.
- `talk_share`: per Gong rep (an internal speaker with a `user_id` in `calls.interaction.speakers`), the calls
  they spoke on, their talk time, and their share of all talk on those calls; names from `users`.
- `top_trackers`: Gong keyword trackers by times heard (the sum of `calls.content.trackers[].count`) and the
  calls they were heard on.
- `customer_side`: what the customer side (`speaker_affiliation = 'External'`) said on one Gong call, with
  speakers and times: the newest call whose transcript has an external line, unless a call id is given. Read
  from `transcript_sentences.jsonl` (one row per sentence) when that file exists, else from the monologues
  nested in `transcripts.jsonl`.

target-jsonl appends on every run, so a re-read record can be in a file twice: each query keeps one row per
primary key. A stream's file that is missing counts as empty. Every function returns plain rows (tuples), so
tests compare them with the sandbox's ground truth; `render` draws them as aligned tables.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from collections.abc import Collection

# Only the fields the queries read, typed: DuckDB ignores the rest of each record, and a field that is
# null in every record still has a type.
COLUMNS: dict[str, dict[str, str]] = {
    "calls": {
        "id": "VARCHAR",
        "title": "VARCHAR",
        "started": "TIMESTAMPTZ",
        "interaction": "STRUCT(speakers STRUCT(id VARCHAR, user_id VARCHAR, talk_time DOUBLE)[])",
        "content": "STRUCT(trackers STRUCT(name VARCHAR, count BIGINT)[])",
    },
    "clari_calls": {"id": "VARCHAR", "time": "TIMESTAMPTZ"},
    "users": {"id": "VARCHAR", "first_name": "VARCHAR", "last_name": "VARCHAR", "email_address": "VARCHAR"},
    "transcripts": {
        "call_id": "VARCHAR",
        "call_started": "TIMESTAMPTZ",
        "transcript": 'STRUCT(speaker_name VARCHAR, speaker_affiliation VARCHAR, sentences STRUCT("start" '
        'BIGINT, "end" BIGINT, text VARCHAR)[])[]',
    },
    "transcript_sentences": {
        "call_id": "VARCHAR",
        "call_started": "TIMESTAMPTZ",
        "sentence_index": "BIGINT",
        "start": "BIGINT",
        "text": "VARCHAR",
        "speaker_name": "VARCHAR",
        "speaker_affiliation": "VARCHAR",
    },
}
KEYS = {
    "calls": "id",
    "clari_calls": "id",
    "users": "id",
    "transcripts": "call_id",
    "transcript_sentences": "call_id, sentence_index",
}


def sql_string(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per stream of `folder` (one row per primary key), in UTC.

    Offline: JSON and time zone support are built into the `duckdb` wheel, and nothing is downloaded."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    for stream, columns in COLUMNS.items():
        path = folder / f"{stream}.jsonl"
        if path.is_file() and path.stat().st_size:
            spec = ", ".join(f"{sql_string(name)}: {sql_string(kind)}" for name, kind in columns.items())
            # Our own stream names and column types; the path quoted as an SQL string.
            source = (
                f"SELECT DISTINCT ON ({KEYS[stream]}) * FROM read_json({sql_string(str(path))}, "  # noqa: S608
                f"format = 'newline_delimited', columns = {{{spec}}})"
            )
        else:
            typed = ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns.items())
            source = f"SELECT {typed} WHERE false"
        con.execute(f"CREATE VIEW {stream} AS {source}")
    rows = folder / "transcript_sentences.jsonl"
    con.execute(
        f"CREATE VIEW has_sentences AS SELECT {rows.is_file() and rows.stat().st_size > 0} AS rows_stream"
    )
    return con


@dataclass(frozen=True)
class Week:
    week: date  # the Monday (UTC) the week starts on
    gong: int
    clari: int


CALLS_PER_WEEK = """
WITH starts AS (
    SELECT 'gong' AS source, started AS t FROM calls WHERE started IS NOT NULL
    UNION ALL
    SELECT 'clari', time FROM clari_calls WHERE time IS NOT NULL
),
last AS (SELECT date_trunc('week', max(t))::DATE AS week FROM starts),
weeks AS (
    SELECT (last.week - INTERVAL (7 * n) DAY)::DATE AS week
    FROM last, range(?) AS r(n)
    WHERE last.week IS NOT NULL
)
SELECT weeks.week,
       count(*) FILTER (WHERE starts.source = 'gong') AS gong,
       count(*) FILTER (WHERE starts.source = 'clari') AS clari
FROM weeks LEFT JOIN starts ON date_trunc('week', starts.t)::DATE = weeks.week
GROUP BY weeks.week
ORDER BY weeks.week
"""


def calls_per_week(con: duckdb.DuckDBPyConnection, weeks: int = 12) -> list[Week]:
    """Gong and Clari calls per week, the `weeks` latest weeks up to the newest call, oldest first."""
    return [Week(*row) for row in con.execute(CALLS_PER_WEEK, [weeks]).fetchall()]


@dataclass(frozen=True)
class Rep:
    name: str  # "First Last" from `users`, else the email address, else the user id
    user_id: str
    calls: int  # calls the rep spoke on
    talk_seconds: float  # the rep's talk time on them
    share: float  # the rep's talk time / all speakers' talk time on those calls, 0..1


TALK_SHARE = """
WITH spoken AS (
    SELECT c.id AS call_id, s.user_id, s.talk_time
    FROM calls AS c, unnest(c.interaction.speakers) AS u(s)
    WHERE s.talk_time IS NOT NULL
),
per_call AS (SELECT call_id, sum(talk_time) AS total FROM spoken GROUP BY call_id),
rep_call AS (
    SELECT user_id, call_id, sum(talk_time) AS talk
    FROM spoken WHERE user_id IS NOT NULL GROUP BY user_id, call_id
)
SELECT coalesce(nullif(trim(concat_ws(' ', u.first_name, u.last_name)), ''), u.email_address, r.user_id),
       r.user_id,
       count(*) AS calls,
       sum(r.talk) AS talk_seconds,
       sum(r.talk) / sum(p.total) AS share
FROM rep_call AS r
JOIN per_call AS p USING (call_id)
LEFT JOIN users AS u ON u.id = r.user_id
GROUP BY ALL
ORDER BY calls DESC, talk_seconds DESC, r.user_id
"""


def talk_share(con: duckdb.DuckDBPyConnection) -> list[Rep]:
    """Every Gong rep who spoke on a call, the busiest first."""
    return [Rep(*row) for row in con.execute(TALK_SHARE).fetchall()]


@dataclass(frozen=True)
class Tracker:
    name: str
    heard: int  # times heard, all calls together
    calls: int  # calls it was heard on


TOP_TRACKERS = """
SELECT t.name, sum(t.count) AS heard, count(DISTINCT c.id) FILTER (WHERE t.count > 0) AS calls
FROM calls AS c, unnest(c.content.trackers) AS u(t)
WHERE t.name IS NOT NULL
GROUP BY t.name
HAVING sum(t.count) > 0
ORDER BY heard DESC, t.name
"""


def top_trackers(con: duckdb.DuckDBPyConnection) -> list[Tracker]:
    """Every tracker heard at least once, the most heard first."""
    return [Tracker(*row) for row in con.execute(TOP_TRACKERS).fetchall()]


@dataclass(frozen=True)
class Line:
    at_ms: int  # from the call's start, milliseconds (Gong's `start`)
    speaker: str | None
    text: str


# One row per sentence, from whichever stream holds them; `position` orders a call's sentences.
SENTENCES = """
CREATE TEMP VIEW sentences AS
SELECT call_id, call_started, start, speaker_name, speaker_affiliation, text, sentence_index AS position
FROM transcript_sentences WHERE (SELECT rows_stream FROM has_sentences)
UNION ALL
SELECT t.call_id, t.call_started, s.start, m.speaker_name, m.speaker_affiliation, s.text,
       i * 100000 + k AS position
FROM transcripts AS t,
     unnest(t.transcript) WITH ORDINALITY AS mm(m, i),
     unnest(m.sentences) WITH ORDINALITY AS ss(s, k)
WHERE NOT (SELECT rows_stream FROM has_sentences)
"""

# The newest call on which the customer side said at least `?` sentences, else the newest with any.
CUSTOMER_CALL = """
SELECT call_id FROM sentences
WHERE speaker_affiliation = 'External'
GROUP BY call_id, call_started
ORDER BY count(*) >= ? DESC, call_started DESC, call_id DESC
LIMIT 1
"""

CUSTOMER_LINES = """
SELECT start, speaker_name, text FROM sentences
WHERE call_id = ? AND speaker_affiliation = 'External'
ORDER BY start, position
"""


def customer_side(
    con: duckdb.DuckDBPyConnection, call_id: str | None = None, enough: int = 12
) -> tuple[str | None, str | None, list[Line]]:
    """(call id, call title, the customer side's sentences in time order) of `call_id`, or else of the newest
    call on which external speakers said at least `enough` sentences (the newest with any when none has that
    many); (None, None, []) when no transcript has an external sentence."""
    con.execute(SENTENCES)
    if call_id is None:
        found = con.execute(CUSTOMER_CALL, [enough]).fetchone()
        if found is None:
            return None, None, []
        call_id = str(found[0])
    title = con.execute("SELECT title FROM calls WHERE id = ?", [call_id]).fetchone()
    lines = [Line(*row) for row in con.execute(CUSTOMER_LINES, [call_id]).fetchall()]
    return call_id, (title[0] if title else None), lines


# ------------------------------------------------------------------------------------------------ rendering
def table(headers: list[str], rows: list[list[str]], right: Collection[int] = ()) -> str:
    """Rows as aligned columns under their headers; the columns in `right` right-aligned (numbers)."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            (c.rjust(w) if i in right else c.ljust(w))
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def bars(weeks: list[Week], width: int = 40, unicode: bool = True) -> str:
    """The weeks as a stacked horizontal bar chart: Gong then Clari, scaled to the busiest week."""
    gong_mark, clari_mark = ("█", "░") if unicode else ("#", "+")
    top = max((w.gong + w.clari for w in weeks), default=0) or 1
    rows = []
    for w in weeks:
        g = round(w.gong * width / top)
        c = round((w.gong + w.clari) * width / top) - g
        bar = (gong_mark * g + clari_mark * c).ljust(width)
        rows.append([f"{w.week:%Y-%m-%d}", bar, str(w.gong), str(w.clari)])
    legend = f"{gong_mark} Gong  {clari_mark} Clari"
    return table(["week of", legend, "gong", "clari"], rows, right={2, 3})


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(folder: Path, weeks: int = 12, reps: int = 10, trackers: int = 8, lines: int = 12) -> str:
    """The four answers as text: a bar chart and three tables."""
    con = connect(folder)
    unicode = (sys.stdout.encoding or "").lower().replace("-", "") in {"utf8", "utf16", "utf32"}
    out: list[str] = []

    per_week = calls_per_week(con, weeks)
    out += [f"Calls per week and source (the {len(per_week)} latest weeks)", bars(per_week, unicode=unicode)]

    everyone = talk_share(con)
    shown = everyone[:reps]
    out += [
        "",
        f"Talk share per rep: their talk time / all talk on their calls (Gong; the {len(shown)} reps with the "
        f"most calls, of {len(everyone)})",
        table(
            ["rep", "calls", "talk (min)", "talk share"],
            [[r.name, str(r.calls), f"{r.talk_seconds / 60:,.0f}", f"{r.share:.0%}"] for r in shown],
            right={1, 2, 3},
        ),
    ]

    heard = top_trackers(con)
    out += [
        "",
        "Trackers heard most (Gong; "
        + (f"all {len(heard)})" if len(heard) <= trackers else f"{trackers} of {len(heard)})"),
        table(
            ["tracker", "times heard", "calls"],
            [[t.name, f"{t.heard:,}", f"{t.calls:,}"] for t in heard[:trackers]],
            right={1, 2},
        ),
    ]

    call_id, title, said = customer_side(con, enough=lines)
    if call_id is None:
        out += ["", "The customer side of a call: no transcript has a line by an external speaker"]
    else:
        speakers = sorted({line.speaker or "(unknown)" for line in said})
        out += [
            "",
            f"What the customer said on {title or 'call'} (call {call_id}): {len(said)} sentences by "
            f"{', '.join(speakers)}" + (f"; the first {lines}" if len(said) > lines else ""),
            table(
                ["at", "speaker", "said"],
                [
                    [
                        f"{line.at_ms // 60000}:{line.at_ms // 1000 % 60:02d}",
                        line.speaker or "?",
                        clip(line.text, 70),
                    ]
                    for line in said[:lines]
                ],
                right={0},
            ),
        ]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", type=Path, help="the folder of <stream>.jsonl files (the demo: output/demo)"
    )
    parser.add_argument("--weeks", type=int, default=12, help="weeks in the chart (default 12)")
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.stderr.write(f"ERROR: {args.folder} is not a folder of <stream>.jsonl files\n")
        return 1
    sys.stdout.write("\n" + render(args.folder, weeks=args.weeks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
