"""Logging that never writes a caller's phone number or a text's words in clear."""

from __future__ import annotations

import logging
import sys

from .phone import PHONE_IN_TEXT


class RedactingFormatter(logging.Formatter):
    """Masks anything that looks like a phone number in a record's message and traceback.

    The timestamp is left alone (its digits would look like a number).
    """

    def format(self, record: logging.LogRecord) -> str:
        copy = logging.makeLogRecord(record.__dict__)
        copy.msg, copy.args = redact(record.getMessage()), None
        if record.exc_info:
            copy.exc_text = redact(self.formatException(record.exc_info))
            copy.exc_info = None
        if record.stack_info:
            copy.stack_info = redact(record.stack_info)
        return super().format(copy)


def redact(text: str) -> str:
    """`text` with every phone-number-like run of digits replaced by [number]."""
    return PHONE_IN_TEXT.sub("[number]", text)


def configure(level: str) -> logging.Logger:
    """Send the "ivr" logger to stderr through the redacting formatter, once per process."""
    logger = logging.getLogger("ivr")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, RedactingFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger
