"""Deterministic generators for the sandbox's Gong and Clari Copilot data (re-exported from the modules below).

Only a lightweight index is kept in memory (one small object per call). Everything heavy (Gong ``CallData``
blocks, transcripts, Clari call details) is generated lazily from a ``random.Random`` seeded with the sandbox
seed and the call id, so the same call always produces the same content, whichever order it is requested in.
Encoded JSON is cached in byte-bounded LRUs.

Shapes follow ``reference/gong_api.md`` §2-3 and ``reference/clari_api.md`` §2, including the awkward parts:
string ids of up to 19 digits, timestamps with offsets, absent keys (imported calls without ``parties``, Clari
fields without a value omitted), mixed-type CRM field values, ``"NaN"`` summary timestamps.

Where things live: ``common`` (word pools, ISO-8601 formatting and parsing, ``dumps``, ``ByteLRU``,
``order_key``, rng helpers), ``gong_selector`` (``contentSelector`` parsing), ``gong_data`` (``GongCall``,
``GongData``), ``clari_data`` (``ClariCall``, ``ClariData``).
"""

from __future__ import annotations

from .clari_data import CLARI_STATUS, CLARI_TYPES, DONE, ClariCall, ClariData
from .common import (
    CALL_KINDS,
    COMPANIES,
    FIRST_NAMES,
    LAST_NAMES,
    STAGES,
    TITLES,
    TOPIC_NAMES,
    TRACKERS,
    ByteLRU,
    dumps,
    iso_offset,
    iso_utc_ms,
    order_key,
    parse_iso,
)
from .gong_data import GongCall, GongData
from .gong_selector import (
    CONTENT_KEYS,
    INTERACTION_KEYS,
    SPEAKER_FIELDS_GONG,
    Selector,
    parse_selector,
    selector_from_dict,
)

__all__ = [
    "CALL_KINDS",
    "CLARI_STATUS",
    "CLARI_TYPES",
    "COMPANIES",
    "CONTENT_KEYS",
    "DONE",
    "FIRST_NAMES",
    "INTERACTION_KEYS",
    "LAST_NAMES",
    "SPEAKER_FIELDS_GONG",
    "STAGES",
    "TITLES",
    "TOPIC_NAMES",
    "TRACKERS",
    "ByteLRU",
    "ClariCall",
    "ClariData",
    "GongCall",
    "GongData",
    "Selector",
    "dumps",
    "iso_offset",
    "iso_utc_ms",
    "order_key",
    "parse_iso",
    "parse_selector",
    "selector_from_dict",
]
