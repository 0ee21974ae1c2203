"""Argument extraction from what a caller said: digits, amounts, dates, times, names, enums, yes/no.

Pure functions over recogniser text. Phone ASR writes "four five seven" as "4 5 7", "4-5-7", "457" or
"for 5-7", so digit runs are normalised before they are read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_WORD_DIGIT = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
# Homophones that ASR writes in front of a digit run ("for 5-7-2-1" was "four five seven two one").
_HOMOPHONE_DIGIT = {"for": "4", "to": "2", "too": "2", "won": "1", "ate": "8"}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]  # fmt: skip
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|correct|right|ok|okay|go ahead|please do|do it|confirm|absolutely|that's right)\b", re.I
)
_NO = re.compile(r"\b(no|nope|don't|do not|cancel that|stop|wrong|not right|never mind)\b", re.I)
_DIGIT_RUN = re.compile(r"(?<![\d.$])\d(?:(?:[ ,\-]|, )?\d)*(?![\d]|\.\d)")
_MONEY = [
    re.compile(r"\$\s?(\d[\d,]*(?:\.\d{1,2})?)"),
    re.compile(r"(\d[\d,]*(?:\.\d{1,2})?)\s*(?:dollars?|bucks|usd)(?:\s*(?:and\s*)?(\d{1,2})\s*cents?)?", re.I),
]
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?\s?m\.?|p\.?\s?m\.?)(?=\W|$)", re.I)
_TIME_24 = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_NAME = re.compile(r"\b(?:my name is|name's|this is|i am|i'm)\s+([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

Span = tuple[int, int]


def normalise_digits(text: str) -> str:
    """Digit words to numerals, and a homophone before a digit run to its digit."""
    words = re.split(r"(\s+|[,\-])", text)
    out = [_WORD_DIGIT.get(w.lower(), w) for w in words]
    for i, w in enumerate(out):
        rest = "".join(out[i + 1 :]).lstrip(" ,-")
        if w.lower() in _HOMOPHONE_DIGIT and re.match(r"\d(?:[ ,\-]?\d)", rest):
            out[i] = _HOMOPHONE_DIGIT[w.lower()]
    return "".join(out)


def is_yes(text: str) -> bool:
    return bool(_YES.search(text)) and not _NO.search(text)


def is_no(text: str) -> bool:
    return bool(_NO.search(text))


def digit_runs(text: str, taken: list[Span]) -> list[tuple[Span, str]]:
    runs = []
    for m in _DIGIT_RUN.finditer(text):
        if not _overlaps(m.span(), taken):
            runs.append((m.span(), re.sub(r"\D", "", m.group())))
    return runs


def money(text: str, taken: list[Span]) -> tuple[Span, float] | None:
    for pattern in _MONEY:
        for m in pattern.finditer(text):
            if _overlaps(m.span(), taken):
                continue
            value = float(m.group(1).replace(",", ""))
            if m.lastindex and m.lastindex >= 2 and m.group(2):
                value += int(m.group(2)) / 100
            return m.span(), round(value, 2)
    return None


def time_of_day(text: str) -> str | None:
    m = _TIME.search(text)
    if m:
        hour, minute = int(m.group(1)) % 12, int(m.group(2) or 0)
        if m.group(3).lower().startswith("p"):
            hour += 12
        return f"{hour:02d}:{minute:02d}"
    m = _TIME_24.search(text)
    if m:
        return f"{int(m.group(1)):02d}:{m.group(2)}"
    if re.search(r"\bnoon\b", text, re.I):
        return "12:00"
    return None


def date(text: str, today: dt.date) -> str | None:
    low = text.lower()
    if m := re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", low):
        return m.group(0)
    if "day after tomorrow" in low:
        return (today + dt.timedelta(days=2)).isoformat()
    if "tomorrow" in low:
        return (today + dt.timedelta(days=1)).isoformat()
    if "today" in low:
        return today.isoformat()
    for i, month in enumerate(_MONTHS, start=1):
        dated = re.search(rf"\b{month}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", low)
        if dated:  # a full date, e.g. a date of birth: the year as said
            try:
                return dt.date(int(dated.group(2)), i, int(dated.group(1))).isoformat()
            except ValueError:
                return None
        m = re.search(
            rf"\b{month}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{month}\b", low
        )
        if m:
            day = int(m.group(1) or m.group(2))
            year = today.year if (i, day) >= (today.month, today.day) else today.year + 1
            try:
                return dt.date(year, i, day).isoformat()
            except ValueError:
                return None
    for i, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", low):
            ahead = (i - today.weekday()) % 7 or 7
            return (today + dt.timedelta(days=ahead)).isoformat()
    return None


def person_name(text: str) -> str | None:
    m = _NAME.search(text)
    return m.group(1) if m else None


def kind_of(name: str, schema: dict[str, Any]) -> str:
    """How to read a parameter: from its schema first, then from its name."""
    low = name.lower()
    typ = schema.get("type")
    fmt = schema.get("format", "")
    if "enum" in schema:
        return "enum"
    if typ == "boolean":
        return "boolean"
    if fmt == "date" or low.endswith("date") or low in ("day", "date_of_birth", "dob"):
        return "date"
    if fmt == "time" or low.endswith("time"):
        return "time"
    if fmt == "email" or "email" in low:
        return "email"
    if any(k in low for k in ("amount", "price", "total", "sum", "payment")):
        return "money"
    if typ in ("integer", "number"):
        return "number"
    if any(k in low for k in ("_id", "number", "code", "zip", "phone", "digits", "pin", "account")) or low == "id":
        return "digits"
    if low.endswith("name"):
        return "name"
    return "text"


def extract(
    name: str, schema: dict[str, Any], text: str, taken: list[Span], today: dt.date, *, asked: bool = False
) -> Any:
    """The value for one parameter found in `text`, or None. Spans used are appended to `taken`.

    `asked`: the caller is answering a question about this very parameter, so a bare number counts
    as an amount ("forty two fifty").
    """
    kind = kind_of(name, schema)
    norm = normalise_digits(text)
    if kind == "money":
        found = money(norm, taken)
        if found:
            taken.append(found[0])
            return found[1]
        bare = re.search(r"\d[\d,]*(?:\.\d{1,2})?", norm) if asked else None
        if bare is None or _overlaps(bare.span(), taken):
            return None
        taken.append(bare.span())
        return float(bare.group().replace(",", ""))
    if kind in ("digits", "number"):
        runs = digit_runs(norm, taken)
        if not runs:
            return None
        span, digits = max(runs, key=lambda r: len(r[1]))
        taken.append(span)
        if kind == "number":
            return int(digits) if schema.get("type") == "integer" else float(digits)
        return digits
    if kind == "date":
        return date(norm, today)
    if kind == "time":
        return time_of_day(norm)
    if kind == "email":
        m = _EMAIL.search(text)
        return m.group(0) if m else None
    if kind == "name":
        return person_name(text)
    if kind == "boolean":
        return True if is_yes(text) else False if is_no(text) else None
    if kind == "enum":
        for option in schema["enum"]:
            if str(option).lower().replace("_", " ") in text.lower():
                return option
        return None
    return text.strip() or None


def spoken(value: Any) -> str:
    """How to say a value: identifiers digit by digit, amounts in dollars."""
    if isinstance(value, str) and value.isdigit() and len(value) >= 4:
        return " ".join(value)
    if isinstance(value, float):
        return f"${value:,.2f}"
    return str(value)


def _overlaps(span: Span, taken: list[Span]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)
