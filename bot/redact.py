"""Masking of secrets callers speak: card numbers, security codes, social security numbers.

Pure text work, applied to transcripts before they are stored and to log records before they are
written. A card number is a run of 13-19 digits (spaces or dashes allowed) that passes the Luhn check;
it keeps only its last four digits.
"""

from __future__ import annotations

import logging
import re

_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_CODE = re.compile(r"\b((?:security code|cvv|cvc|pin)(?: number)?(?: is)?[:\s]+)(\d[ -]?){3,4}\b", re.I)
_SSN = re.compile(r"(?<!\d)\d{3}[- ]\d{2}[- ]\d{4}(?!\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        return match.group()
    return f"[card ending {digits[-4:]}]"


def redact(text: str) -> str:
    """`text` with card numbers, security codes and SSNs masked."""
    text = _CARD.sub(_card, text)
    text = _CODE.sub(lambda m: m.group(1) + "[redacted]", text)
    return _SSN.sub("[redacted]", text)


class RedactingFilter(logging.Filter):
    """Masks secrets in every log record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
