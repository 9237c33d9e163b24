"""Who said what: each transcript line joined to the person who spoke it (issue 13).

Pure functions, no I/O. Gong monologues carry only a `speaker_id` and Clari lines only a `person_id`; the
people are in the same call's parties (Gong) or participant lists (Clari), which the tap already holds when
it emits a transcript, so the join costs no request. The streams call:

- `add_gong_speakers(monologues, parties)` in `gong.transcript_record`, with the parties of the same `calls`
  batch;
- `add_clari_speakers(record, names_by_user_id)` in `ClariCallsStream.details_record` (clari.py), with the
  Copilot user names from one `GET /users` per run (None when that request failed).

Both take records as emitted (snake_case) and return new lists; they never change their arguments. The row
streams (`transcript_sentences`, `clari_transcript_lines`) copy the speaker fields from the joined records
(transcript_rows.py), so a row and its nested line always name the same person.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable, Mapping

# Gong: the field added to a monologue -> the party field (as emitted) it is copied from.
GONG_SPEAKER_FIELDS: Mapping[str, str] = {
    "speaker_name": "name",
    "speaker_email_address": "email_address",
    "speaker_title": "title",
    "speaker_affiliation": "affiliation",
    "speaker_user_id": "user_id",
    "speaker_party_id": "id",
}
_GONG_ID_FIELDS = ("speaker_user_id", "speaker_party_id")

CLARI_SPEAKER_FIELDS = ("speaker_name", "speaker_email", "speaker_user_id", "speaker_affiliation")


def id_key(value: object) -> str | None:
    """The form two ids are compared in: text, so a number and its string are the same id.

    `7`, `7.0`, `"7"` and `" 7 "` all give `"7"`; digit strings lose leading zeros (`"007"` is `7`, as the
    number 7 would be sent). None, booleans, empty strings and containers give None: they never match
    anything, not even each other (a monologue without a speaker is not every party without one).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return str(int(text))
    if text[:1] == "-" and text[1:].isdigit():
        return str(int(text))
    return text or None


def _as_id(value: object) -> object:
    """Ids stay strings: a number sent as an id becomes its digits; anything else is kept as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return id_key(value)
    return value


def _dicts(items: object) -> Iterable[Mapping[str, t.Any]]:
    """The mappings of a list that may be missing (None) or hold junk."""
    if not isinstance(items, list | tuple):
        return ()
    return (item for item in items if isinstance(item, Mapping))


# ------------------------------------------------------------------------------------------------------ Gong


def gong_speaker_index(parties: object) -> dict[str, Mapping[str, t.Any]]:
    """Parties by speaker id (compared as text); the first party wins if two claim one id.

    Parties without a speaker id (they did not speak) are left out. `parties` may be None: imported calls
    have none.
    """
    index: dict[str, Mapping[str, t.Any]] = {}
    for party in _dicts(parties):
        key = id_key(party.get("speaker_id"))
        if key is not None:
            index.setdefault(key, party)
    return index


def gong_speaker_fields(party: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The six speaker fields from one party (as emitted); all None for no party."""
    if party is None:
        return dict.fromkeys(GONG_SPEAKER_FIELDS)
    fields = {field: party.get(source) for field, source in GONG_SPEAKER_FIELDS.items()}
    for field in _GONG_ID_FIELDS:
        fields[field] = _as_id(fields[field])
    return fields


def add_gong_speakers(monologues: object, parties: object) -> list[t.Any] | None:
    """Gong monologues with `speaker_name`, `speaker_email_address`, `speaker_title`, `speaker_affiliation`,
    `speaker_user_id` and `speaker_party_id` added.

    Args:
        monologues: one call's transcript as emitted (`[{speaker_id, topic, sentences}]`); None passes through.
        parties: the same call's parties as emitted by `calls` (`[{id, speaker_id, name, email_address,
            title, affiliation, user_id, ...}]`), or None (imported calls have no parties).

    Each monologue takes the fields of the party whose `speaker_id` equals its own, compared as text; all
    six are None when no party matches (no parties, a speaker who is no party, or no speaker id at all).
    Entries that are not objects pass through unchanged. Returns a new list of new dicts.
    """
    if not isinstance(monologues, list):
        return monologues  # type: ignore[return-value]
    index = gong_speaker_index(parties)
    out: list[t.Any] = []
    for monologue in monologues:
        if not isinstance(monologue, Mapping):
            out.append(monologue)
            continue
        key = id_key(monologue.get("speaker_id"))
        party = index.get(key) if key is not None else None
        out.append({**monologue, **gong_speaker_fields(party)})
    return out


# ----------------------------------------------------------------------------------------------------- Clari


def clari_speaker_index(
    record: Mapping[str, t.Any], names_by_user_id: Mapping[str, str] | None
) -> dict[str, dict[str, t.Any]]:
    """The speaker fields of every person on a Clari call, by person id (compared as text).

    Looked up in this order, the first match winning: `users` (`Internal`: email and user id from the
    entry; name from `names_by_user_id` by user id, else from the call's `joined_participants` entry with
    the same person id, else None), then `external_participants`, then `joined_participants` (`External`:
    their own name and email, no user id).

    `names_by_user_id` is None when `GET /users` failed: internal names are then all None (the contract's
    rule), even where a joined entry has a name.
    """
    joined = list(_dicts(record.get("joined_participants")))
    joined_names: dict[str, t.Any] = {}
    for person in joined:
        key = id_key(person.get("person_id"))
        if key is not None and person.get("name") and key not in joined_names:
            joined_names[key] = person.get("name")
    index: dict[str, dict[str, t.Any]] = {}
    for user in _dicts(record.get("users")):
        key = id_key(user.get("person_id"))
        if key is None or key in index:
            continue
        user_id = _as_id(user.get("user_id"))
        name = None
        if names_by_user_id is not None:
            name = _user_name(names_by_user_id, user_id) or joined_names.get(key)
        index[key] = {
            "speaker_name": name,
            "speaker_email": user.get("user_email"),
            "speaker_user_id": user_id,
            "speaker_affiliation": "Internal",
        }
    for person in (*_dicts(record.get("external_participants")), *joined):
        key = id_key(person.get("person_id"))
        if key is None or key in index:
            continue
        index[key] = {
            "speaker_name": person.get("name"),
            "speaker_email": person.get("email"),
            "speaker_user_id": None,
            "speaker_affiliation": "External",
        }
    return index


def _user_name(names_by_user_id: Mapping[str, str], user_id: object) -> str | None:
    """The `GET /users` name of a user id, its text as sent or compared as an id."""
    if user_id is None:
        return None
    name = names_by_user_id.get(str(user_id))
    if not name and (key := id_key(user_id)) is not None:
        name = names_by_user_id.get(key)
    return name or None


def add_clari_speakers(
    record: Mapping[str, t.Any], names_by_user_id: Mapping[str, str] | None
) -> list[t.Any] | None:
    """A Clari call's `transcript` with `speaker_name`, `speaker_email`, `speaker_user_id` and
    `speaker_affiliation` added to every line.

    Args:
        record: the call as emitted (snake_case): `users` (`[{user_id, user_email, person_id}]`),
            `external_participants` and `joined_participants` (`[{name, email, phone, person_id}]`) and
            `transcript` (`[{text, start, end, person_id, annotations}]`). Any list may be missing or None.
        names_by_user_id: Copilot user names by user id, from `GET /users`; None if that request failed.

    A line's `person_id` (a number or a string: the same id either way) is resolved as
    `clari_speaker_index` describes; all four fields are None when nobody on the call has that id.
    Returns a new list of new dicts (None when the call has no transcript); lines that are not objects
    pass through unchanged.
    """
    transcript = record.get("transcript")
    if not isinstance(transcript, list):
        return transcript
    index = clari_speaker_index(record, names_by_user_id)
    nobody = dict.fromkeys(CLARI_SPEAKER_FIELDS)
    out: list[t.Any] = []
    for line in transcript:
        if not isinstance(line, Mapping):
            out.append(line)
            continue
        key = id_key(line.get("person_id"))
        out.append({**line, **(index.get(key, nobody) if key is not None else nobody)})
    return out


def clari_user_names(users: object) -> dict[str, str]:
    """`{user id: name}` from a `GET /users` body's `users` list (entries without both are left out)."""
    names: dict[str, str] = {}
    for user in _dicts(users):
        key = id_key(user.get("id"))
        name = user.get("name")
        if key is not None and isinstance(name, str) and name:
            names.setdefault(key, name)
    return names
