"""camelCase to snake_case, recursively, as the contract names every field."""

from __future__ import annotations

import re
import typing as t
from functools import lru_cache

_ACRONYM_END = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD_START = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """`metaData` -> `meta_data`, `speakerID` -> `speaker_id`, `audioUrl` -> `audio_url`."""
    return _WORD_START.sub(r"\1_\2", _ACRONYM_END.sub(r"\1_\2", name)).lower()


def snake_keys(value: t.Any) -> t.Any:
    """Rename keys at every depth (inside CRM object values too); values themselves are never changed."""
    if isinstance(value, dict):
        return {snake(k): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def as_id(value: t.Any) -> str | None:
    """An id as a string (Gong's spec says int64, the API sends strings; Clari mixes both); None stays None.

    A number's text is its integer form (`7.0` -> `"7"`), so the same id compares equal whatever its type.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


Conform = t.Callable[[t.Any], None]

# Fields that hold ids without saying so in their name (Gong: int64 in its spec); any `id`, `..._id` or
# `..._ids` field is an id anyway.
OTHER_ID_FIELDS = frozenset(
    {
        "in_reply_to",  # calls.collaboration.public_comments: the comment replied to
        "added_by",  # library_folder_calls: a user id
        "created_by",  # library_folders: a user id
        "selected_options",  # answered_scorecards.answers: answer option ids
        "calls_as_host",  # user_daily_activity: the fifteen arrays of call ids
        "calls_attended",
        "calls_gave_feedback",
        "calls_requested_feedback",
        "calls_received_feedback",
        "own_calls_listened_to",
        "others_calls_listened_to",
        "calls_shared_internally",
        "calls_shared_externally",
        "calls_scorecards_filled",
        "calls_scorecards_received",
        "calls_comments_given",
        "calls_comments_received",
        "calls_marked_as_feedback_given",
        "calls_marked_as_feedback_received",
    }
)


def is_id_field(name: str) -> bool:
    """Whether a field (as emitted, snake_case) holds an id or ids."""
    return name == "id" or name.endswith(("_id", "_ids")) or name in OTHER_ID_FIELDS


def ids_as_strings(schema: t.Mapping[str, t.Any]) -> Conform | None:
    """A function that turns, in place, every number in an id field (`is_id_field`) that the JSON schema
    types as a plain string (`type` string or [string, null], no `format`), or as an array of them, into its
    text (`as_id`), at every depth; None when the schema has no such field.

    Gong's spec types ids as int64 (party, user, speaker, comment ids; `callId`): whatever Gong sends, a
    record comes out as its schema says, so a target validating against the schema accepts it. Built once
    per schema from its shape, it walks only the subtrees that hold id fields (not a transcript's sentences,
    say), so it costs little per record; fields typed loosely (`["string", "integer", ...]`) are left as sent.
    """
    return _conformer(schema)


def _types(node: t.Mapping[str, t.Any]) -> set[str]:
    types = node.get("type")
    return {types} if isinstance(types, str) else set(types or ())


def _plain_string(node: t.Mapping[str, t.Any]) -> bool:
    types = _types(node)
    return "string" in types and types <= {"string", "null"} and "format" not in node


def _conformer(node: t.Mapping[str, t.Any]) -> Conform | None:
    """For an object, or an array of objects, holding id fields somewhere."""
    types = _types(node)
    if "object" in types or "properties" in node:
        return _object_conformer(node.get("properties") or {})
    items = node.get("items")
    if "array" in types and isinstance(items, dict):
        inner = _conformer(items)
        if inner is None:
            return None

        def each(value: t.Any) -> None:
            if value.__class__ is list:
                for item in value:
                    inner(item)

        return each
    return None


def _object_conformer(properties: t.Mapping[str, t.Any]) -> Conform | None:
    strings: list[str] = []
    nested: list[tuple[str, Conform]] = []
    for name, node in properties.items():
        items = node.get("items")
        if is_id_field(name) and _plain_string(node):
            strings.append(name)
        elif (
            is_id_field(name) and "array" in _types(node) and isinstance(items, dict) and _plain_string(items)
        ):
            nested.append((name, _strings_in_list))
        elif (inner := _conformer(node)) is not None:
            nested.append((name, inner))
    if not strings and not nested:
        return None
    string_fields, nested_fields = tuple(strings), tuple(nested)

    def conform(value: t.Any) -> None:
        if value.__class__ is not dict:
            return
        for name in string_fields:
            item = value.get(name)
            if item.__class__ is int or item.__class__ is float:
                value[name] = as_id(item)
        for name, inner in nested_fields:
            item = value.get(name)
            if item is not None:
                inner(item)

    return conform


def _strings_in_list(value: t.Any) -> None:
    if value.__class__ is list:
        for index, item in enumerate(value):
            if item.__class__ is int or item.__class__ is float:
                value[index] = as_id(item)
