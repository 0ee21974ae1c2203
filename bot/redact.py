"""Masking of secrets callers speak: card numbers, security codes, social security numbers.

Pure text work, applied to transcripts before they are stored and to log records before they are
written, and used by the offline brain so a secret never fills another argument. Digits come in
every form speech recognition writes them: grouped by spaces, dashes, dots or commas
("4,111,111,111,111,111" is whisper's), as words ("four one one one..."), with "oh", "double" and
"triple", or mixed.

- A run of 13-19 digits (or more: ASR adds digits) is a card number whether or not it passes the
  Luhn check (a misheard digit breaks the check, not the secret); it keeps its last four digits.
- 3-4 digits just after "security code", "CVV", "the three digits on the back"... are a security code.
- 9 digits grouped 3-2-4, or after "social security" / "SSN", are a social security number.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["card", "code", "ssn"]

_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
          "seven": "7", "eight": "8", "nine": "9"}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_TOKEN = r"(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
# A run of digit tokens joined by spaces, dashes, dots or commas ("4,111", "4.111", "four-one").
_RUN = re.compile(rf"(?<!\w){_TOKEN}(?:[\s,.\-]{{0,3}}{_TOKEN})*(?![\w])", re.I)
_CODE_CUE = re.compile(
    r"(?:security|verification|cvv2?|cvc2?|csc|cid)\b(?: code| number| value)?"
    r"|\b(?:three|four|3|4)[- ]digit(?:s| code| number)?(?: on the (?:back|front)(?: of the card)?)?"
    r"|\b(?:digits|code|number) on the (?:back|front)|\bback of the card|\bpin(?: number| code)?\b",
    re.I,
)
_SSN_CUE = re.compile(r"\bsocial(?: security)?(?: number)?\b|\bssn\b", re.I)
_SSN_GROUPED = re.compile(r"^\d{3}[- ]\d{2}[- ]\d{4}$")
CUE_WINDOW = 40  # characters between a cue and the digits it names ("security code, um, it's ...")


@dataclass(frozen=True)
class Secret:
    start: int
    end: int
    kind: Kind
    digits: str

    @property
    def mask(self) -> str:
        if self.kind == "card":
            return f"[card ending {self.digits[-4:]}]"
        return "[redacted]"


def digits_of(run: str) -> str:
    """The digits a run of tokens says ("double four 1" → "441")."""
    out, repeat = [], 1
    for token in re.findall(_TOKEN, run.lower()):
        if token in _REPEAT:
            repeat = _REPEAT[token]
            continue
        digits = token if token.isdigit() else _WORDS[token]
        out.append(digits[0] * repeat + digits[1:])
        repeat = 1
    return "".join(out)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def secrets(text: str) -> list[Secret]:
    """The secrets in `text`, in order."""
    found: list[Secret] = []
    for m in _RUN.finditer(text):
        run = m.group()
        digits = digits_of(run)
        before = text[max(0, m.start() - CUE_WINDOW) : m.start()]
        kind: Kind | None = None
        if len(digits) >= 13:
            kind = "card"
        elif len(digits) in (3, 4) and _CODE_CUE.search(before):
            kind = "code"
        elif len(digits) == 9 and (_SSN_GROUPED.match(run) or _SSN_CUE.search(before)):
            kind = "ssn"
        if kind is not None:
            found.append(Secret(m.start(), m.end(), kind, digits))
    return found


def redact(text: str) -> str:
    """`text` with card numbers, security codes and SSNs masked."""
    out, at = [], 0
    for secret in secrets(text):
        out += [text[at : secret.start], secret.mask]
        at = secret.end
    return "".join(out) + text[at:]


class RedactingFilter(logging.Filter):
    """Masks secrets in every log record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
