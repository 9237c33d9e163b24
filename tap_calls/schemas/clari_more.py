"""JSON schemas of the Clari Copilot streams beyond calls (interface.md, "Streams beyond calls")."""

from __future__ import annotations

from singer_sdk import typing as th

_str = th.StringType
_num = th.NumberType

CLARI_USER_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("email", _str),
    th.Property("name", _str),
    th.Property("role", _str),
    th.Property("is_recording", th.BooleanType),
    th.Property("manager_id", _str),
).to_dict()

CLARI_TOPIC_SCHEMA = th.PropertiesList(
    th.Property("topic_id", _str, required=True),
    th.Property("topic_name", _str),
    th.Property("type", _str),
    th.Property("team_ids", th.ArrayType(_str)),
    th.Property("custom_topic", th.ObjectType(th.Property("description", _str), th.Property("status", _str))),
    th.Property("keyword_topic", th.ObjectType(th.Property("trackers", th.ArrayType(_str)))),
).to_dict()

CLARI_SCORECARD_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("type", _str),
    th.Property("rep", _str),
    th.Property("scorer", _str),
    th.Property("template_id", _str),
    th.Property("call_id", _str),
    th.Property("total_score", _num),
    th.Property("remark", _str),
    th.Property(
        "questions_score",
        th.ArrayType(
            th.ObjectType(
                th.Property("score", _num),
                th.Property("skill", _str),
                th.Property("label", _str),
                th.Property("order", _str),
            )
        ),
    ),
).to_dict()

CLARI_SCORECARD_TEMPLATE_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("customer_id", _str),
    th.Property("name", _str),
    th.Property("type", _str),
    th.Property(
        "questions",
        th.ArrayType(
            th.ObjectType(th.Property("skill", _str), th.Property("label", _str), th.Property("order", _str))
        ),
    ),
).to_dict()
