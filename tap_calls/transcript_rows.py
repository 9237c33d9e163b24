"""Transcripts as rows: one record per Gong sentence and per Clari transcript line (issue 31).

Pure functions, no I/O. Both take the parent record as the tap emits it, after the speaker join
(`speakers.add_gong_speakers` / `speakers.add_clari_speakers`), so a row names the same speaker as the nested
transcript it comes from; neither changes its argument.

- `sentence_records(transcript_record)`: the `transcript_sentences` rows of one `transcripts` record
  (`{call_id, call_started, transcript: [{speaker_id, topic, speaker_*, sentences: [{start, end, text}]}]}`).
- `line_records(clari_call_record)`: the `clari_transcript_lines` rows of one `clari_calls` record
  (`{id, last_modified_time, transcript: [{text, start, end, person_id, annotations, speaker_*}]}`).
- `sentence_count` / `line_count`: how many rows those give (`transcripts.sentence_count`,
  `clari_calls.transcript_line_count`), so a warehouse can drop rows of an older, longer transcript.
"""

from __future__ import annotations

import math
import typing as t
from collections.abc import Mapping

from tap_calls.speakers import CLARI_SPEAKER_FIELDS, GONG_SPEAKER_FIELDS, id_key

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# Fields of a `transcript_sentences` row, in schema order (schemas/gong.py SENTENCE_SCHEMA).
SENTENCE_FIELDS = (
    "call_id",
    "call_started",
    "sentence_index",
    "monologue_index",
    "start",
    "end",
    "text",
    "topic",
    "speaker_id",
    *GONG_SPEAKER_FIELDS,
)
LINE_FIELDS = (
    "call_id",
    "last_modified_time",
    "line_index",
    "start",
    "end",
    "text",
    "person_id",
    "annotations",
    *CLARI_SPEAKER_FIELDS,
)


def _monologues(transcript: object) -> Iterator[tuple[int, Mapping[str, t.Any], list[Mapping[str, t.Any]]]]:
    """(monologue index, monologue, its sentences that are objects) of a joined Gong transcript."""
    if not isinstance(transcript, list):
        return
    for index, monologue in enumerate(transcript):
        if isinstance(monologue, Mapping):
            sentences = monologue.get("sentences")
            kept = [s for s in sentences if isinstance(s, Mapping)] if isinstance(sentences, list) else []
            yield index, monologue, kept


def sentence_count(transcript: object) -> int:
    """How many `transcript_sentences` rows a joined Gong transcript (`transcripts.transcript`) gives."""
    return sum(len(sentences) for _, _, sentences in _monologues(transcript))


def _start_key(sentence: Mapping[str, t.Any]) -> tuple[int, float]:
    """Sort key: by `start` (ms); a sentence without a numeric start after every timed one."""
    start = sentence.get("start")
    if isinstance(start, int | float) and not isinstance(start, bool) and not math.isnan(start):
        return (0, start)
    return (1, 0.0)


def sentence_records(record: Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The `transcript_sentences` rows of one `transcripts` record (its speakers already joined).

    `sentence_index` numbers the call's sentences by `start` (milliseconds from the call's start), ties in
    the order the joined transcript holds them (Gong's order: monologue by monologue); `monologue_index` is
    the monologue's position in that transcript. Each row carries its monologue's `topic`, `speaker_id`
    and the six speaker fields, copied from the record (the very join of the nested transcript). Entries that
    are not objects are left out, as `sentence_count` leaves them out.
    """
    call_id, call_started = record.get("call_id"), record.get("call_started")
    rows: list[tuple[tuple[int, float], int, dict[str, t.Any]]] = []
    order = 0
    for m_index, monologue, sentences in _monologues(record.get("transcript")):
        speaker = {field: monologue.get(field) for field in GONG_SPEAKER_FIELDS}
        topic, speaker_id = monologue.get("topic"), monologue.get("speaker_id")
        for sentence in sentences:
            row = {
                "call_id": call_id,
                "call_started": call_started,
                "sentence_index": 0,
                "monologue_index": m_index,
                "start": sentence.get("start"),
                "end": sentence.get("end"),
                "text": sentence.get("text"),
                "topic": topic,
                "speaker_id": speaker_id,
                **speaker,
            }
            rows.append((_start_key(sentence), order, row))
            order += 1
    rows.sort(key=lambda item: (item[0], item[1]))  # stable on Gong's order for equal starts
    out = []
    for index, (_, _, row) in enumerate(rows):
        row["sentence_index"] = index
        out.append(row)
    return out


def clari_seconds(value: object) -> float | int | None:
    """A Clari transcript `start`/`end` in seconds: a number as sent; a numeric string as its number; `"NaN"`
    (Clari sends it for some timestamps, clari_api.md §2.2), any other string, NaN or infinity as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _lines(transcript: object) -> list[Mapping[str, t.Any]]:
    return [line for line in transcript if isinstance(line, Mapping)] if isinstance(transcript, list) else []


def line_count(transcript: object) -> int:
    """How many `clari_transcript_lines` rows a `clari_calls.transcript` gives (0 without a transcript)."""
    return len(_lines(transcript))


def line_records(record: Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The `clari_transcript_lines` rows of one `clari_calls` record (its speakers already joined).

    `line_index` is the line's position in the details' transcript; `start`/`end` are seconds
    (`clari_seconds`: "NaN" is None); `person_id` is a string (a number and its text are the same id,
    speakers.id_key); `annotations` pass as sent; the four speaker fields are the line's own.
    """
    call_id, modified = record.get("id"), record.get("last_modified_time")
    out = []
    for index, line in enumerate(_lines(record.get("transcript"))):
        person = line.get("person_id")
        out.append(
            {
                "call_id": call_id,
                "last_modified_time": modified,
                "line_index": index,
                "start": clari_seconds(line.get("start")),
                "end": clari_seconds(line.get("end")),
                "text": line.get("text"),
                "person_id": person if isinstance(person, str) else id_key(person),
                "annotations": line.get("annotations"),
                **{field: line.get(field) for field in CLARI_SPEAKER_FIELDS},
            }
        )
    return out
