"""Dates and times as callers say them, read from normalised text (numbers.normalise ran first).

Each reader returns the span it read and an ISO value ("2026-12-03", "14:30"), or None.
Without am/pm an hour is read as a business hour: 7-11 morning, 12 noon, 1-6 afternoon.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.engine.brain.numbers import MONTHS

Span = tuple[int, int]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH = "|".join(MONTHS) + "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(\d{4}|\d{2}\s\d{2}))?"
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(?:the\s+)?{_ORD}\b{_YEAR}", re.I)
_DAY_MONTH = re.compile(rf"\b(?:the\s+)?{_ORD}\s+(?:of\s+)?({_MONTH})\b{_YEAR}", re.I)
_THE_DAY = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b|\b(\d{1,2})(?:st|nd|rd|th)\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\b")
_WEEKDAY = re.compile(rf"\b(?:(next|this|coming|this coming)\s+)?({'|'.join(WEEKDAYS)})\b", re.I)
_RELATIVE = re.compile(
    r"\b(day after tomorrow|day before yesterday|tomorrow|today|tonight|yesterday|last night|"
    r"this (?:morning|afternoon|evening))\b",
    re.I,
)
_IN_DAYS = re.compile(r"\bin\s+(\d{1,2}|a)\s+(days?|weeks?)\b", re.I)

_PERIOD = r"\s*(a\.?\s?m\.?|p\.?\s?m\.?|in the morning|in the afternoon|in the evening|at night|o'clock)"
_CLOCK = re.compile(rf"\b(\d{{1,2}})(?::(\d{{2}})|\s(\d{{2}}))?{_PERIOD}(?=\W|$)", re.I)
_COLON = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_PAST_TO = re.compile(r"\b(half|quarter|\d{1,2})\s+(?:minutes\s+)?(past|after|to|till|before)\s+(\d{1,2})\b", re.I)
_NAMED = re.compile(r"\b(noon|midday|lunchtime|midnight)\b", re.I)
_BARE = re.compile(
    r"\b(?:at|around|about|for|by|say|do|like)\s+(\d{1,2})(?:\s(\d{2}))?\b(?!\s*(?:st|nd|rd|th|/))", re.I
)
_ANSWER = re.compile(
    r"^\W*(?:[a-z']+\W+){0,3}?(\d{1,2})(?:\s(\d{2}))?(?![\d/:]|st|nd|rd|th)\W*(?:[a-z']+\W*){0,2}$", re.I
)


def _month(name: str) -> int:
    low = name.lower()[:3]
    return next(i for i, m in enumerate(MONTHS, start=1) if m.startswith(low))


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    digits = raw.replace(" ", "")
    return int(digits) if len(digits) == 4 else None


def _dated(today: dt.date, year: int | None, month: int, day: int) -> dt.date | None:
    """The date said: with its year, or the next one on or after today; None if there is none."""
    if year is None:
        return _upcoming(today, month, day)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: dt.date, month: int, day: int) -> dt.date | None:
    """The next `month`/`day` on or after today."""
    for year in (today.year, today.year + 1):
        try:
            d = dt.date(year, month, day)
        except ValueError:
            return None
        if d >= today:
            return d
    return None


def date(text: str, today: dt.date) -> tuple[Span, str] | None:
    """The date said in `text`."""
    if m := _ISO.search(text):
        return m.span(), m.group()
    for pattern, month_at, day_at in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        if m := pattern.search(text):
            d = _dated(today, _year(m.group(3)), _month(m.group(month_at)), int(m.group(day_at)))
            return (m.span(), d.isoformat()) if d else None
    if m := _SLASH.search(text):
        month, day = int(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 1900 if year > today.year % 100 + 1 else 2000
        d = _dated(today, year, month, day)
        return (m.span(), d.isoformat()) if d else None
    if m := _RELATIVE.search(text):
        word = m.group(1).lower()
        ahead = {"day after tomorrow": 2, "tomorrow": 1, "yesterday": -1, "last night": -1,
                 "day before yesterday": -2}.get(word, 0)  # fmt: skip
        return m.span(), (today + dt.timedelta(days=ahead)).isoformat()
    if m := _IN_DAYS.search(text):
        n = 1 if m.group(1).lower() == "a" else int(m.group(1))
        days = n * (7 if m.group(2).lower().startswith("week") else 1)
        return m.span(), (today + dt.timedelta(days=days)).isoformat()
    if m := _WEEKDAY.search(text):
        wanted = WEEKDAYS.index(m.group(2).lower())
        ahead = (wanted - today.weekday()) % 7
        if (m.group(1) or "").lower() == "next":  # the one in next calendar week
            ahead = 7 - today.weekday() + wanted
        elif ahead == 0:
            ahead = 7
        d = today + dt.timedelta(days=ahead)
        span = m.span()
        if th := re.match(r"\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b", text[span[1] :]):  # "Friday the 11th"
            d = _day_of_month(today, int(th.group(1))) or d
            span = (span[0], span[1] + th.end())
        return span, d.isoformat()
    if m := _THE_DAY.search(text):
        day = int(m.group(1) or m.group(2))
        d = _day_of_month(today, day)
        return (m.span(), d.isoformat()) if d else None
    return None


def _day_of_month(today: dt.date, day: int) -> dt.date | None:
    """The next date that is the `day`th of a month."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            d = dt.date(year, month, day)
            if d >= today:
                return d
        except ValueError:
            pass
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _business_hour(hour: int, text: str) -> int:
    low = text.lower()
    if re.search(r"\b(afternoon|evening|tonight|night|pm)\b", low) and hour < 12:
        return hour + 12
    if re.search(r"\b(morning|am)\b", low):
        return hour % 12
    return hour + 12 if 1 <= hour <= 6 else hour


def time_of_day(text: str, *, asked: bool = False) -> tuple[Span, str] | None:
    """The time said in `text`. A bare "at 3" counts; a number alone only when `asked`."""
    if m := _CLOCK.search(text):
        hour = int(m.group(1))
        minute = int(m.group(2) or m.group(3) or 0)
        period = m.group(4).lower().replace(".", "").replace(" ", "")
        if hour > 23 or minute > 59:
            return None
        if period.startswith("p") or period in ("intheafternoon", "intheevening", "atnight"):
            hour = hour % 12 + 12
        elif period.startswith("a") or period == "inthemorning":
            hour = hour % 12
        else:
            hour = _business_hour(hour, text)
        return m.span(), f"{hour:02d}:{minute:02d}"
    if m := _COLON.search(text):
        hour = int(m.group(1))
        return m.span(), f"{_business_hour(hour, text) if hour <= 12 else hour:02d}:{m.group(2)}"
    if m := _PAST_TO.search(text):
        amount = {"half": 30, "quarter": 15}.get(m.group(1).lower()) or int(m.group(1))
        hour = int(m.group(3))
        if amount >= 60 or hour > 12:
            return None
        before = m.group(2).lower() in ("to", "till", "before")
        minutes = (hour * 60 - amount) if before else (hour * 60 + amount)
        hour, minute = divmod(minutes % (24 * 60), 60)
        return m.span(), f"{_business_hour(hour, text) if hour <= 12 else hour:02d}:{minute:02d}"
    if m := _NAMED.search(text):
        return m.span(), "00:00" if m.group(1).lower() == "midnight" else "12:00"
    m = _BARE.search(text) or (_ANSWER.search(text) if asked else None)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if 1 <= hour <= 12 and minute < 60:
            return m.span(), f"{_business_hour(hour, text):02d}:{minute:02d}"
    return None
