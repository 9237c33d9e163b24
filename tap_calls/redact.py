"""Secrets never reach a log line, whatever logger, level or exception text carries them."""

from __future__ import annotations

import logging
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable

_secrets: set[str] = set()
_base_factory = logging.getLogRecordFactory()
_formatter = logging.Formatter()
MASK = "***"


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redacting_factory(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if not _secrets:
        return record
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    return record


def redact_secrets(values: Iterable[str]) -> None:
    """Mask these values in every log record from now on (the factory sees all loggers)."""
    # Very short values would mask ordinary words; real keys and tokens are long.
    _secrets.update(v for v in values if len(v) >= 6)
    if _secrets and logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
