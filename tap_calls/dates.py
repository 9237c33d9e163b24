"""Dates and times: RFC 3339 parsing and formatting, whole-second filter bounds, and calendar days.

Everything here is pendulum-based and returns aware datetimes (`pendulum.DateTime` is a `datetime`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum

UTC = pendulum.UTC


def utc_now() -> pendulum.DateTime:
    """The current instant in UTC."""
    return pendulum.now(UTC)


def parse_datetime(value: str) -> pendulum.DateTime:
    """An RFC 3339 / ISO 8601 date-time (`Z`, an offset, or none: then UTC) as an aware datetime.

    Raises:
        ValueError: `value` is not a date-time (pendulum's ParserError is a ValueError).
    """
    parsed = pendulum.parse(value, tz=UTC)
    if not isinstance(parsed, pendulum.DateTime):
        msg = f"{value!r} is not a date-time"
        raise ValueError(msg)
    return parsed


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z` and whole seconds (floored), the form both APIs show in their filters.

    Flooring keeps consecutive windows contiguous: both sides of a boundary use the same instant.
    """
    return pendulum.instance(value).in_timezone(UTC).replace(microsecond=0).format("YYYY-MM-DDTHH:mm:ss[Z]")


def ceil_second(value: datetime) -> datetime:
    """The first whole second at or after `value`: an exclusive upper bound that keeps all of [.., value)."""
    floor = value.replace(microsecond=0)
    return floor if floor == value else floor + timedelta(seconds=1)


def floor_second(value: datetime) -> datetime:
    """`value` without its fraction of a second."""
    return value.replace(microsecond=0)
