"""JSON schemas of the Gong streams `calls`, `parties`, `transcripts` and `users` (interface.md, "Streams").

Field names are Gong's in snake_case at every depth; ids are strings. Shared pieces (`CRM_CONTEXT`,
`PARTY_FIELDS`) are defined once and reused.
"""

from __future__ import annotations

from singer_sdk import typing as th

from tap_calls.speakers import GONG_SPEAKER_FIELDS

_any = th.AnyType
_str = th.StringType
_num = th.NumberType
_int = th.IntegerType
_bool = th.BooleanType
_dt = th.DateTimeType

CRM_CONTEXT = th.ArrayType(
    th.ObjectType(
        th.Property("system", _str),
        th.Property(
            "objects",
            th.ArrayType(
                th.ObjectType(
                    th.Property("object_type", _str),
                    th.Property("object_id", _str),
                    # CRM values are strings, numbers, booleans or objects depending on the field.
                    th.Property(
                        "fields",
                        th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("value", _any))),
                    ),
                    th.Property("timing", _str),
                )
            ),
        ),
    )
)

_PARTY_DETAILS = (
    th.Property("email_address", _str),
    th.Property("name", _str),
    th.Property("title", _str),
    th.Property("user_id", _str),
    th.Property("speaker_id", _str),
    th.Property("affiliation", _str),
    th.Property("methods", th.ArrayType(_str)),
    th.Property("phone_number", _str),
    th.Property("context", CRM_CONTEXT),
)
# A party as nested in `calls`: the same fields as the `parties` stream, without the call's.
PARTY_FIELDS = th.PropertiesList(th.Property("id", _str), *_PARTY_DETAILS)

_named_duration = th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("duration", _num)))
_occurrences = th.ArrayType(th.ObjectType(th.Property("start_time", _num), th.Property("speaker_id", _str)))

CONTENT = th.ObjectType(
    th.Property("structure", _named_duration),
    th.Property("topics", _named_duration),
    th.Property(
        "trackers",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str),
                th.Property("name", _str),
                th.Property("count", _num),
                th.Property("type", _str),
                th.Property("occurrences", _occurrences),
                th.Property(
                    "phrases",
                    th.ArrayType(
                        th.ObjectType(
                            th.Property("count", _num),
                            th.Property("occurrences", _occurrences),
                            th.Property("phrase", _str),
                        )
                    ),
                ),
            )
        ),
    ),
    th.Property(
        "points_of_interest",
        th.ObjectType(
            th.Property(
                "action_items",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("snippet_start_time", _num),
                        th.Property("snippet_end_time", _num),
                        th.Property("speaker_id", _str),
                        th.Property("snippet", _str),
                    )
                ),
            )
        ),
    ),
    th.Property("brief", _str),
    th.Property("outline", th.ArrayType(th.ObjectType())),
    th.Property("highlights", th.ArrayType(th.ObjectType())),
    th.Property(
        "call_outcome",
        th.ObjectType(th.Property("id", _str), th.Property("category", _str), th.Property("name", _str)),
    ),
    th.Property("key_points", th.ArrayType(th.ObjectType(th.Property("text", _str)))),
)

INTERACTION = th.ObjectType(
    th.Property(
        "speakers",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str), th.Property("user_id", _str), th.Property("talk_time", _num)
            )
        ),
    ),
    th.Property(
        "interaction_stats",
        th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("value", _num))),
    ),
    th.Property("video", _named_duration),
    th.Property(
        "questions", th.ObjectType(th.Property("company_count", _num), th.Property("non_company_count", _num))
    ),
)

COLLABORATION = th.ObjectType(
    th.Property(
        "public_comments",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str),
                th.Property("audio_start_time", _num),
                th.Property("audio_end_time", _num),
                th.Property("commenter_user_id", _str),
                th.Property("comment", _str),
                th.Property("posted", _dt),
                th.Property("during_call", _bool),
                th.Property("in_reply_to", _str),
            )
        ),
    )
)

CALL_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("url", _str),
    th.Property("title", _str),
    th.Property("scheduled", _dt),
    th.Property("started", _dt),
    th.Property("duration", _int),
    th.Property("primary_user_id", _str),
    th.Property("direction", _str),
    th.Property("system", _str),
    th.Property("scope", _str),
    th.Property("media", _str),
    th.Property("language", _str),
    th.Property("workspace_id", _str),
    th.Property("sdr_disposition", _str),
    th.Property("client_unique_id", _str),
    th.Property("custom_data", _str),
    th.Property("purpose", _str),
    th.Property("meeting_url", _str),
    th.Property("is_private", _bool),
    th.Property("calendar_event_id", _str),
    th.Property("context", CRM_CONTEXT),
    th.Property("parties", th.ArrayType(th.ObjectType(*PARTY_FIELDS.wrapped.values()))),
    th.Property("content", CONTENT),
    th.Property("interaction", INTERACTION),
    th.Property("collaboration", COLLABORATION),
    th.Property("media_urls", th.ObjectType(th.Property("audio_url", _str), th.Property("video_url", _str))),
).to_dict()

PARTY_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("call_started", _dt),
    th.Property("id", _str, required=True),
    *_PARTY_DETAILS,
).to_dict()

TRANSCRIPT_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("call_started", _dt),
    th.Property(
        "transcript",
        th.ArrayType(
            th.ObjectType(
                th.Property("speaker_id", _str),
                th.Property("topic", _str),
                # Who spoke: the fields of the call's party with this speaker_id (tap_calls/speakers.py).
                *(th.Property(name, _str) for name in GONG_SPEAKER_FIELDS),
                th.Property(
                    "sentences",
                    th.ArrayType(
                        th.ObjectType(
                            th.Property("start", _int), th.Property("end", _int), th.Property("text", _str)
                        )
                    ),
                ),
            )
        ),
    ),
    # How many `transcript_sentences` rows this transcript gives: rows of an older, longer version of the
    # transcript have sentence_index >= sentence_count (Gong trims calls).
    th.Property("sentence_count", _int),
).to_dict()

# One row per sentence of a call's joined transcript (tap_calls/transcript_rows.py, sentence_records).
SENTENCE_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("call_started", _dt),
    th.Property("sentence_index", _int, required=True),
    th.Property("monologue_index", _int),
    th.Property("start", _int),  # milliseconds from the call's start, as Gong sends them
    th.Property("end", _int),
    th.Property("text", _str),
    th.Property("topic", _str),
    th.Property("speaker_id", _str),
    *(th.Property(name, _str) for name in GONG_SPEAKER_FIELDS),
).to_dict()

USER_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("email_address", _str),
    th.Property("created", _dt),
    th.Property("active", _bool),
    th.Property("email_aliases", th.ArrayType(_str)),
    th.Property("trusted_email_address", _str),
    th.Property("first_name", _str),
    th.Property("last_name", _str),
    th.Property("title", _str),
    th.Property("phone_number", _str),
    th.Property("extension", _str),
    th.Property("personal_meeting_urls", th.ArrayType(_str)),
    th.Property("settings", th.ObjectType()),
    th.Property("manager_id", _str),
    th.Property("meeting_consent_page_url", _str),
    # Returned by Gong although its spec leaves it out.
    th.Property("conferencing_providers", th.ArrayType(th.ObjectType())),
    th.Property(
        "spoken_languages",
        th.ArrayType(th.ObjectType(th.Property("language", _str), th.Property("primary", _bool))),
    ),
).to_dict()

CALL_FIELDS = tuple(CALL_SCHEMA["properties"])
USER_FIELDS = tuple(USER_SCHEMA["properties"])
PARTY_KEYS = tuple(PARTY_SCHEMA["properties"])
NESTED_PARTY_KEYS = tuple(PARTY_FIELDS.to_dict()["properties"])
