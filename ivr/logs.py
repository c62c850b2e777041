"""Logging that never writes a caller's phone number or a text's words in clear."""

from __future__ import annotations

import logging
import re
import sys

from .model.phone import PHONE_IN_TEXT

# A SIP or Twilio Client caller is named by an identity, not a number: "sip:alice@example.com",
# "client:bob", also percent-encoded in a URL ("sip%3Aalice%40example.com").
# Also after a percent-escape ("tel%3A%2B1502...", "From%3D502..."), whose last character is a letter
# or digit but ends no word.
_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"
_IDENTITY = re.compile(_START + r"((?i:sips?|client))(:|%3[Aa])[^\s\"'<>&,;)\]]+")
# A number written in a URL: "%2B15025550123", "%28502%29%20555-0123", or with slashes,
# "502/635/6397". Spelled out here and tried before the prose pattern of phone.py.
_SEPARATOR = r"(?:[\s().\-/_\u2010-\u2015]|%2[0289BbCcDdEeFf])*"
_ENCODED_NUMBER = re.compile(_START + r"(?:\+|%2[Bb])?(?:\(|%28)?\d(?:" + _SEPARATOR + r"\d){6,}"
                             r"(?![A-Za-z0-9])")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


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
    """`text` with every phone-number-like run of digits replaced by [number], and every SIP or
    Client identity by its scheme and [identity]."""
    text = _IDENTITY.sub(lambda m: m.group(1) + m.group(2) + "[identity]", text)
    text = _ENCODED_NUMBER.sub("[number]", text)
    return PHONE_IN_TEXT.sub("[number]", text)


def printable(value: object, limit: int = 80) -> str:
    """`value` (a path, a header, a form field) made safe to put in a log line: control
    characters such as CR and LF escaped, so a request cannot start a forged line of its own, and
    cut to about `limit` characters."""
    text = str(value)
    if len(text) <= limit and text.isprintable() and "\\" not in text:
        return text  # nearly every value (a SID, a path): nothing to escape, and short
    pieces, length = [], 0
    for character in text:
        piece = _ESCAPES.get(character) or (character if character.isprintable()
                                            else character.encode("unicode_escape").decode("ascii"))
        if length + len(piece) > limit:
            pieces.append("...")
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


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
