"""Schemas of the Gong streams beyond calls (interface.md, "Streams beyond calls (second release)").

Ids are strings, `date` fields `format: date`, every field nullable; fields Gong adds later pass through
(no `additionalProperties: false`).
"""

from __future__ import annotations

from singer_sdk import typing as th

_str = th.StringType
_int = th.IntegerType
_num = th.NumberType
_bool = th.BooleanType
_dt = th.DateTimeType
_date = th.DateType
_ids = th.ArrayType(_str)

WORKSPACE = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("name", _str),
    th.Property("description", _str),
)

QUESTION = th.ObjectType(
    th.Property("question_id", _str),
    th.Property("question_revision_id", _str),
    th.Property("question_text", _str),
    th.Property("is_overall", _bool),
    th.Property("question_type", _str),
    th.Property("answer_guide", _str),
    th.Property("min_range", _int),
    th.Property("max_range", _int),
    th.Property(
        "answer_options", th.ArrayType(th.ObjectType(th.Property("id", _str), th.Property("text", _str)))
    ),
    th.Property("updater_user_id", _str),
    th.Property("created", _dt),
    th.Property("updated", _dt),
)

SCORECARD = th.PropertiesList(
    th.Property("scorecard_id", _str, required=True),
    th.Property("scorecard_name", _str),
    th.Property("workspace_id", _str),
    th.Property("enabled", _bool),
    th.Property("updater_user_id", _str),
    th.Property("created", _dt),
    th.Property("updated", _dt),
    th.Property("review_method", _str),
    th.Property("questions", th.ArrayType(QUESTION)),
)

ANSWER = th.ObjectType(
    th.Property("question_id", _str),
    th.Property("question_revision_id", _str),
    th.Property("is_overall", _bool),
    th.Property("score", _int),
    th.Property("answer_text", _str),
    th.Property("not_applicable", _bool),
    th.Property("selected_options", _ids),
)

ANSWERED_SCORECARD = th.PropertiesList(
    th.Property("answered_scorecard_id", _str, required=True),
    th.Property("scorecard_id", _str),
    th.Property("scorecard_name", _str),
    th.Property("call_id", _str),
    th.Property("call_start_time", _dt),
    th.Property("reviewed_user_id", _str),
    th.Property("reviewer_user_id", _str),
    th.Property("review_method", _str),
    th.Property("editor_user_id", _str),
    th.Property("review_time", _dt),
    th.Property("visibility_type", _str),
    th.Property("answers", th.ArrayType(ANSWER)),
)

TRACKER = th.PropertiesList(
    th.Property("tracker_id", _str, required=True),
    th.Property("tracker_name", _str),
    th.Property("workspace_id", _str),
    th.Property(
        "language_keywords",
        th.ArrayType(
            th.ObjectType(
                th.Property("language", _str),
                th.Property("keywords", th.ArrayType(_str)),
                th.Property("include_related_forms", _bool),
            )
        ),
    ),
    th.Property("affiliation", _str),
    th.Property("part_of_question", _bool),
    th.Property("said_at", _str),
    th.Property("said_at_interval", _int),
    th.Property("said_at_unit", _str),
    th.Property("said_in_topics", th.ArrayType(_str)),
    th.Property("filter_query", _str),
    th.Property("created", _dt),
    th.Property("creator_user_id", _str),
    th.Property("updated", _dt),
    th.Property("updater_user_id", _str),
)

CALL_OUTCOME = th.PropertiesList(
    th.Property("call_outcome", _str, required=True),
    th.Property("display_order", _int),
    th.Property("connect_status", _str),
    th.Property("sentiment", _str),
    th.Property("todo_action", _str),
    th.Property("automation", _str),
    th.Property("category", _str),
)

LIBRARY_FOLDER = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("name", _str),
    th.Property("parent_folder_id", _str),
    th.Property("created_by", _str),
    th.Property("updated", _dt),
    th.Property("workspace_id", _str),
)

LIBRARY_FOLDER_CALL = th.PropertiesList(
    th.Property("folder_id", _str, required=True),
    th.Property("call_id", _str, required=True),
    th.Property("title", _str),
    th.Property("note", _str),
    th.Property("added_by", _str),
    th.Property("created", _dt, required=True),
    th.Property("url", _str),
    th.Property("snippet", th.ObjectType(th.Property("from_sec", _int), th.Property("to_sec", _int))),
)

# The fifteen activities of POST /v2/stats/activity/day-by-day, as the contract names them.
ACTIVITIES = (
    "calls_as_host",
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
)

_USER_DAY = (
    th.Property("user_id", _str, required=True),
    th.Property("user_email_address", _str),
    th.Property("date", _date, required=True),
)

USER_DAILY_ACTIVITY = th.PropertiesList(*_USER_DAY, *(th.Property(name, _ids) for name in ACTIVITIES))

# The statistics Gong names in personInteractionStats; one number column each.
INTERACTION_STATS = (
    "longest_monologue",
    "longest_customer_story",
    "interactivity",
    "patience",
    "question_rate",
)

INTERACTION = th.PropertiesList(
    *_USER_DAY,
    *(th.Property(name, _num) for name in INTERACTION_STATS),
    th.Property("stats", th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("value", _num)))),
)
