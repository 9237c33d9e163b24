"""JSON schema of the Clari Copilot stream `clari_calls` (interface.md, "Streams")."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_calls.speakers import CLARI_SPEAKER_FIELDS

_str = th.StringType
_num = th.NumberType
_int = th.IntegerType
_bool = th.BooleanType
_dt = th.DateTimeType
# Clari sends these as numbers, numeric strings or "NaN" depending on the call.
_loose_number = th.CustomType({"type": ["string", "number", "null"]})
_loose_id = th.CustomType({"type": ["string", "integer", "null"]})

_participant = th.ObjectType(
    th.Property("name", _str),
    th.Property("email", _str),
    th.Property("phone", _str),
    th.Property("person_id", _loose_id),
)

CLARI_CALL_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("source_id", _str),
    th.Property("title", _str),
    th.Property(
        "users",
        th.ArrayType(
            th.ObjectType(
                th.Property("user_id", _str),
                th.Property("user_email", _str),
                th.Property("is_organizer", _bool),
                th.Property("person_id", _loose_id),
            )
        ),
    ),
    th.Property("external_participants", th.ArrayType(_participant)),
    th.Property("joined_participants", th.ArrayType(_participant)),
    th.Property("status", _str),
    th.Property("bot_not_join_reason", th.ArrayType(_str)),
    th.Property("type", _str),
    th.Property("time", _dt),
    th.Property("icaluid", _str),
    th.Property("calendar_id", _str),
    th.Property("recurring_event_id", _str),
    th.Property("original_start_time", _dt),
    th.Property("last_modified_time", _dt),
    th.Property("audio_url", _str),
    th.Property("video_url", _str),
    th.Property("disposition", _str),
    th.Property("deal_name", _str),
    th.Property("deal_value", _str),
    th.Property("deal_close_date", _dt),
    th.Property("deal_stage_before_call", _str),
    th.Property("account_name", _str),
    th.Property("contact_names", th.ArrayType(_str)),
    th.Property(
        "crm_info",
        th.ObjectType(
            th.Property("source_crm", _str),
            th.Property("deal_id", _str),
            th.Property("account_id", _str),
            th.Property("contact_ids", th.ArrayType(_str)),
        ),
    ),
    th.Property("bookmark_timestamps", th.ArrayType(_str)),
    th.Property(
        "metrics",
        th.ObjectType(
            th.Property("talk_listen_ratio", _num),
            th.Property("num_questions_asked", _num),
            th.Property("num_questions_asked_by_reps", _num),
            th.Property("call_duration", _num),
            th.Property("total_speak_duration", _num),
            th.Property("longest_monologue_duration", _num),
            th.Property("longest_monologue_start_time", _num),
            th.Property("engaging_questions", _num),
            th.Property(
                "categories",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("name", _str),
                        th.Property("occurences", _num),
                        th.Property(
                            "phrases_matched",
                            th.ArrayType(
                                th.ObjectType(
                                    th.Property("text", _str),
                                    th.Property("user_id", _str),
                                    th.Property("name", _str),
                                    th.Property("time", _num),
                                )
                            ),
                        ),
                        th.Property("ai_detected", _bool),
                    )
                ),
            ),
        ),
    ),
    th.Property("call_review_page_url", _str),
    th.Property("deal_stage_live", _str),
    th.Property(
        "transcript",
        th.ArrayType(
            th.ObjectType(
                th.Property("text", _str),
                # Seconds; Clari sends "NaN" for some timestamps (clari_api.md §2.2): passed as sent here.
                th.Property("start", _loose_number),
                th.Property("end", _loose_number),
                th.Property("person_id", _loose_id),
                th.Property("annotations", th.ArrayType(th.ObjectType())),
                # Who spoke, resolved from person_id (tap_calls/speakers.py).
                *(th.Property(name, _str) for name in CLARI_SPEAKER_FIELDS),
            )
        ),
    ),
    # How many `clari_transcript_lines` rows this call's transcript gives (0 without one): rows of an older,
    # longer version have line_index >= transcript_line_count.
    th.Property("transcript_line_count", _int),
    th.Property(
        "summary",
        th.ObjectType(
            th.Property("full_summary", _str),
            th.Property(
                "topics_discussed",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("name", _str),
                        th.Property("start_timestamp", _loose_number),
                        th.Property("end_timestamp", _loose_number),
                        th.Property("summary", _str),
                    )
                ),
            ),
            th.Property(
                "key_action_items",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("action_item", _str),
                        th.Property("speaker_name", _str),
                        th.Property("start_timestamp", _loose_number),
                        th.Property("end_timestamp", _loose_number),
                    )
                ),
            ),
        ),
    ),
    th.Property(
        "competitor_sentiments",
        th.ArrayType(
            th.ObjectType(
                th.Property("competitor_name", _str),
                th.Property("sentiment", _str),
                th.Property("reasoning", _str),
                th.Property("person_id", _loose_id),
                th.Property("turn_start_time", _loose_number),
            )
        ),
    ),
).to_dict()

CLARI_FIELDS = tuple(CLARI_CALL_SCHEMA["properties"])

# Seconds as a float column: PostgreSQL `double precision` with the project's loader (x-sql-datatype), not the
# `numeric` a plain number becomes (loaders/target-calls-postgres).
_seconds = th.CustomType({"type": ["number", "null"], "x-sql-datatype": "double precision"})

# One row per line of a call's /call-details transcript (tap_calls/transcript_rows.py, line_records).
CLARI_LINE_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("last_modified_time", _dt),
    th.Property("line_index", _int, required=True),
    th.Property("start", _seconds),  # seconds from the call's start; "NaN" -> null
    th.Property("end", _seconds),
    th.Property("text", _str),
    th.Property("person_id", _str),
    th.Property("annotations", th.ArrayType(th.ObjectType())),
    *(th.Property(name, _str) for name in CLARI_SPEAKER_FIELDS),
).to_dict()
