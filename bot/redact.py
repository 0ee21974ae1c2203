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

import json
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
    r"(?:security|verification|cvv2?|cvc2?|csc|cid)(?:\b|(?=_))(?:[ _](?:code|number|value))?"
    r"|\b(?:three|four|3|4)[- ]digit(?:s| code| number)?(?: on the (?:back|front)(?: of the card)?)?"
    r"|\b(?:digits|code|number) on the (?:back|front)|\bback of the card|\bpin(?: number| code)?\b",
    re.I,
)
_HOLDS_SECRET = re.compile(r"card|\bpan\b|cvv|cvc|security_?code|ssn|social", re.I)  # a parameter for one
# Which secret a parameter holds, by its name (a card's security code before the card itself).
_SECRET_KINDS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("code", re.compile(r"cvv|cvc|cv2|security|code|pin", re.I)),
    ("ssn", re.compile(r"ssn|social", re.I)),
    ("card", re.compile(r"card|\bpan\b", re.I)),
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


def secret_kind(name: str) -> Kind | None:
    """The secret a parameter of this name holds ("card_number": card, "security_code": code), or None."""
    if not _HOLDS_SECRET.search(name):
        return None
    return next((k for k, pattern in _SECRET_KINDS if pattern.search(name)), None)


def redact_arguments(arguments: str) -> str:
    """A tool call's JSON arguments made safe to store: each value of a parameter named for a secret
    masked whatever it looks like (a 3-digit "security_code" has no cue in JSON), then the rest as text."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return redact(arguments)
    if not isinstance(parsed, dict):
        return redact(arguments)
    masked = {key: _masked_value(key, value) for key, value in parsed.items()}
    return redact(json.dumps(masked, ensure_ascii=False))


def _masked_value(key: str, value: object) -> object:
    kind = secret_kind(key)
    if kind is None or value in (None, ""):
        return value
    digits = re.sub(r"\D", "", str(value))
    return Secret(0, 0, kind, digits).mask if kind == "card" and len(digits) >= 4 else "[redacted]"


class RedactingFilter(logging.Filter):
    """Masks secrets in every log record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
