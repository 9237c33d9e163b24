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
