"""Gong ``contentSelector`` parsing (``reference/gong_api.md`` §3.3) and the context rendering it drives."""

from __future__ import annotations

from dataclasses import dataclass

# The speaker fields a tap adds to a Gong monologue, and the party key (as served) each comes from.
SPEAKER_FIELDS_GONG = {
    "speaker_name": "name",
    "speaker_email_address": "emailAddress",
    "speaker_title": "title",
    "speaker_affiliation": "affiliation",
    "speaker_user_id": "userId",
    "speaker_party_id": "id",
}


@dataclass(frozen=True, slots=True)
class Selector:
    """A normalised ``contentSelector`` (§3.3)."""

    context: str = "None"  # None | Basic | Extended
    timing: tuple[str, ...] = ("Now",)
    parties: bool = False
    content: tuple[str, ...] = ()
    interaction: tuple[str, ...] = ()
    public_comments: bool = False
    media: bool = False


CONTENT_KEYS = (
    "structure",
    "topics",
    "trackers",
    "trackerOccurrences",
    "pointsOfInterest",
    "brief",
    "outline",
    "highlights",
    "callOutcome",
    "keyPoints",
)
INTERACTION_KEYS = ("speakers", "video", "personInteractionStats", "questions")


def parse_selector(raw: object) -> Selector:
    """Normalise a ``contentSelector`` body; raises ValueError for a malformed one."""
    if raw is None:
        return Selector()
    if not isinstance(raw, dict):
        raise ValueError("contentSelector must be an object")
    context = raw.get("context") or "None"
    if context not in ("None", "Basic", "Extended"):
        raise ValueError(f"Invalid contentSelector.context value: {context}")
    timing_raw = raw.get("contextTiming")
    if timing_raw is not None:
        if not isinstance(timing_raw, list) or any(t not in ("Now", "TimeOfCall") for t in timing_raw):
            raise ValueError("Invalid contentSelector.contextTiming")
        if timing_raw and context != "Extended":
            raise ValueError("contextTiming is only allowed when context is Extended")
    timing = tuple(dict.fromkeys(timing_raw)) if timing_raw else ("Now",)
    exposed = raw.get("exposedFields") or {}
    if not isinstance(exposed, dict):
        raise ValueError("exposedFields must be an object")
    content = exposed.get("content") or {}
    inter = exposed.get("interaction") or {}
    collab = exposed.get("collaboration") or {}
    if not all(isinstance(x, dict) for x in (content, inter, collab)):
        raise ValueError("exposedFields blocks must be objects")
    return Selector(
        context=context,
        timing=timing,
        parties=exposed.get("parties") is True,
        content=tuple(k for k in CONTENT_KEYS if content.get(k) is True),
        interaction=tuple(k for k in INTERACTION_KEYS if inter.get(k) is True),
        public_comments=collab.get("publicComments") is True,
        media=exposed.get("media") is True,
    )


def selector_from_dict(content_selector: dict | None) -> Selector:
    return parse_selector(content_selector)


def _render_ctx(system: str, objs: list, sel: Selector) -> dict:
    objects = []
    for obj_type, obj_id, now_fields, then_fields in objs:
        if sel.context == "Basic":
            objects.append({"objectType": obj_type, "objectId": obj_id})
            continue
        for timing in sel.timing:
            objects.append(
                {
                    "objectType": obj_type,
                    "objectId": obj_id,
                    "fields": now_fields if timing == "Now" else then_fields,
                    "timing": timing,
                }
            )
    return {"system": system, "objects": objects}
