"""Tool arguments from what a caller said, read by each parameter's schema.

A parameter's kind comes from its JSON schema (type, format, enum), then its name and description.
Spans are read in a fixed order (dates before digits, so a year is never a ZIP code) and each span
feeds one parameter at most. A parameter is filled only from evidence for it: a value of its kind
next to a word that names it, or the only place such a value can go, or the answer to a question
about it. Pure functions over recogniser text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.engine.brain import lexicon, when
from bot.engine.brain.base import ToolSpec
from bot.engine.brain.numbers import normalise
from bot.redact import Secret, redact, secret_kind, secrets

Span = tuple[int, int]
# The order parameters are read in: the most specific readings take their spans first.
ORDER = ("date", "time", "money", "email", "address", "code", "digits", "number", "enum", "boolean", "name", "text")
_GENERIC = frozenset(lexicon.stems("id number code value the a of to for new type date time name string digit "
                                   "character e g eg identifier reference"))  # fmt: skip
_DIGIT_RUN = re.compile(r"(?<![\d.$:/])\d(?:(?:[ ,\-]|, )?\d)*(?![\d/:]|\.\d|st|nd|rd|th)")
_CODE = re.compile(r"(?<![\w])(?:[A-Z]{1,3}|\d+)(?:[ \-,.]{0,2}(?:[A-Z]|\d+)\b){1,9}(?![\w])")
_CENTS = re.compile(r"(\d{1,2})\s*cents?\b", re.I)
_MONEY = [
    re.compile(r"\$\s?(\d[\d,]*(?:\.\d{1,2})?)"),
    re.compile(r"(\d[\d,]*(?:\.\d{1,2})?)\s*(?:dollars?|bucks|usd)(?:\s*(?:and\s*)?(\d{1,2})(?:\s*cents?)?\b)?", re.I),
    _CENTS,
]
_MONEY_CUE = re.compile(r"\b(pay|paying|payment|charge|put|send|refund|make it|amount|of)\s+$", re.I)
_PAIR = re.compile(r"\b(\d{1,4})\s(\d{2})\b(?!\s?\d)")
_BARE_NUMBER = re.compile(r"(?<![\d.])\d[\d,]*(?:\.\d{1,2})?(?![\d]|st|nd|rd|th)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Za-z]+\s+){1,3}?(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|court|ct|way|"
    r"boulevard|blvd|place|pl|terrace|circle|parkway|highway|close|crescent)\b\.?(?:,?\s*(?:apartment|apt|unit|suite)"
    r"\s*\w+)?",
    re.I,
)
_NAME = re.compile(r"\b(?:my name is|name's|this is|i am|i'm|it's|under)\s+([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?)")
_ON = re.compile(
    r"\b(turn (?:it |them )?on|switch (?:it |them )?on|enable|start|resume|sign me up|activate|yes|want)\b", re.I
)
_OFF = re.compile(r"\b(turn (?:it |them )?off|switch (?:it |them )?off|disable|stop|cancel|no longer|don't want|"
                  r"unsubscribe|opt out|no more|quit)\b", re.I)  # fmt: skip
_FILLER = re.compile(r"^\W*(?:(?:um+|uh+|er+|hmm+|so|well|yeah|yes|okay|ok|sure|right|oh|it's|it is|that's|that is|"
                     r"the|my)\b\W*)+", re.I)  # fmt: skip
_UTTERANCE = frozenset(("question", "query", "text", "message", "description", "details", "issue", "problem",
                        "request", "utterance", "prompt", "search", "topic"))  # fmt: skip
_LENGTH = re.compile(r"\b(\d{1,2})[- ](?:digit|character|letter|char)", re.I)
_SHORT_CODE = re.compile(r"(?<![\d#])\d(?:[ \-]?\d){2,3}(?![\d#])")  # 3 or 4 digits, as ASR writes them
_MIXED = re.compile(r"\b(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z\d]{3,}\b")


@dataclass(frozen=True)
class Param:
    """A tool parameter as the brain reads it."""

    name: str
    schema: dict[str, Any]
    kind: str
    cues: frozenset[str]  # stems of words that name it ("order", "zip", "prescription")
    length: int | None  # digits or characters expected, if the schema says
    required: bool


def kind_of(name: str, schema: dict[str, Any]) -> str:
    """How to read a parameter: from its schema first, then from its name and description."""
    low = name.lower()
    desc = str(schema.get("description", ""))
    typ = schema.get("type")
    fmt = schema.get("format", "")
    words = set(re.split(r"[_\W]+", low))
    if "enum" in schema:
        return "enum"
    if typ == "boolean":
        return "boolean"
    if typ in ("integer", "number") or fmt in ("date", "time", "email"):
        if any(k in low for k in ("amount", "price", "total", "sum", "payment", "cost")) or re.search(
            r"\b(dollars?|amount|usd|\$)", desc, re.I
        ):
            return "money"
        if fmt in ("date", "time", "email"):
            return str(fmt)
        return "number"
    if low.endswith("date") or words & {"day", "dob", "birth", "birthday"}:
        return "date"
    if low.endswith("time") or "hour" in words:
        return "time"
    if "email" in low:
        return "email"
    if "address" in words or re.search(r"\bstreet address\b", desc, re.I):
        return "address"
    if any(k in low for k in ("amount", "price", "total", "payment")):
        return "money"
    if words & {"code", "reference", "confirmation", "pnr", "locator", "ticket"} or _MIXED.search(desc) or (
        re.search(r"\bcharacters?\b", desc, re.I)
    ):  # fmt: skip
        return "code"
    if words & {"id", "number", "zip", "phone", "digits", "pin", "account", "postal", "postcode", "keys", "extension"}:
        return "digits"
    if low.endswith("name"):
        return "name"
    return "text"


_CACHE: dict[str, tuple[Param, ...]] = {}
_CACHE_SIZE = 512  # tool schemas; overflow: forget the oldest


def params(tool: ToolSpec) -> tuple[Param, ...]:
    """The tool's parameters as the brain reads them (built once per schema)."""
    key = tool.name + json.dumps(tool.parameters, sort_keys=True, default=str)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = _build_params(tool)
    return _CACHE[key]


def _build_params(tool: ToolSpec) -> tuple[Param, ...]:
    out = []
    for name, schema in tool.properties.items():
        if not isinstance(schema, dict):
            continue
        desc = str(schema.get("description", ""))
        cues = frozenset(lexicon.stems(re.sub(r"[_\-]+", " ", name) + " " + desc)) - lexicon.STOP - _GENERIC
        m = _LENGTH.search(desc)
        length = int(m.group(1)) if m else 5 if "zip" in name.lower() else None
        out.append(Param(name, schema, kind_of(name, schema), cues, length, name in tool.required))
    return tuple(out)


def param(tool: ToolSpec, name: str) -> Param | None:
    return next((p for p in params(tool) if p.name == name), None)


@dataclass
class Reading:
    """The utterance being read: normalised text, with spans already used blanked out."""

    text: str
    taken: list[Span]
    secret: list[Span]  # card numbers, security codes, SSNs: only a parameter made for one may take them
    found: list[Secret]  # the same spans with their kind and digits

    def free(self, *, secrets_too: bool = False) -> str:
        chars = list(self.text)
        for a, b in self.taken if secrets_too else self.taken + self.secret:
            chars[a:b] = "#" * (b - a)
        return "".join(chars)

    def take(self, span: Span) -> None:
        self.taken.append(span)


def read(
    tool: ToolSpec, text: str, today: dt.date, *, asked: str | None = None, only: set[str] | None = None
) -> dict[str, Any]:
    """Every argument of `tool` that `text` gives evidence for. `asked`: the parameter the caller is
    answering about (a bare value counts for it); `only`: the names to read, if not all."""
    normalised = normalise(text)
    found_secrets = secrets(normalised)
    reading = Reading(normalised, [], [(x.start, x.end) for x in found_secrets], found_secrets)
    ps = sorted(params(tool), key=lambda p: (p.name != asked, ORDER.index(p.kind)))
    found: dict[str, Any] = {}
    for p in ps:
        if only is not None and p.name not in only:
            continue
        same_kind = [q for q in ps if q.kind == p.kind and q.name not in found and q.name != p.name]
        value = _read_one(p, reading, today, asked=p.name == asked, alone=not same_kind, raw=text)
        if value is not None:
            found[p.name] = value
    return found


def _cued(p: Param, text: str, span: Span, window: int = 32) -> bool:
    """A word naming `p` just before the span (or just after it, for "two bags")."""
    around = lexicon.stems(text[max(0, span[0] - window) : span[0]]) + lexicon.stems(text[span[1] : span[1] + 16])[:2]
    return bool(p.cues & set(around))


@dataclass(frozen=True)
class _Ask:
    """One parameter being read from one utterance."""

    p: Param
    reading: Reading
    free: str  # the normalised text with spans already used blanked out
    raw: str  # the words as recognised (names, emails, free text keep their case)
    today: dt.date
    asked: bool  # the caller is answering a question about this parameter
    alone: bool  # no other parameter of the tool could take a value of this kind


def _read_one(p: Param, r: Reading, today: dt.date, *, asked: bool, alone: bool, raw: str) -> Any:
    """A card number is never an amount, a ZIP code or free text: secrets reach only a parameter
    whose name says it holds one (a third party's `card_number`)."""
    holds_secret = secret_kind(p.name) is not None
    free, words = (r.free(secrets_too=True), raw) if holds_secret else (r.free(), redact(raw))
    ask = _Ask(p, r, free, words, today, asked, alone)
    return _secret(ask) if holds_secret else _READERS[p.kind](ask)


def _secret(a: _Ask) -> str | None:
    """A parameter made for a secret takes one of its own kind: the card number the card, the
    security code a 3-4 digit code (cued, or a bare one when asked or the only place it can go)."""
    kind = secret_kind(a.p.name)
    for x in a.reading.found:
        if x.kind == kind and (x.start, x.end) not in a.reading.taken:
            a.reading.take((x.start, x.end))
            return x.digits
    if kind != "code":
        return None
    bare = [m for m in _SHORT_CODE.finditer(a.free) if not any(x.start <= m.start() < x.end for x in a.reading.found)]
    if bare and (a.asked or a.alone):
        a.reading.take(bare[-1].span())
        return re.sub(r"\D", "", bare[-1].group())
    return None


def _take(a: _Ask, found: tuple[Span, Any] | None, *, cued: bool = True) -> Any:
    """The value found, its span used up; a date or time needs its parameter named unless it is the only one."""
    if found is None or not (a.asked or a.alone or not cued or _cued(a.p, a.free, found[0])):
        return None
    a.reading.take(found[0])
    return found[1]


def _date(a: _Ask) -> Any:
    return _take(a, when.date(a.free, a.today))


def _time(a: _Ask) -> Any:
    return _take(a, when.time_of_day(a.free, asked=a.asked))


def _amount(a: _Ask) -> Any:
    return _take(a, _money(a.free, asked=a.asked), cued=False)


def _email(a: _Ask) -> Any:
    m = _EMAIL.search(a.raw)
    return m.group() if m else None


def _address(a: _Ask) -> Any:
    m = _ADDRESS.search(a.free)
    if m is None:
        return _answer_text(a.raw) if a.asked else None
    return _take(a, (m.span(), " ".join(m.group().rstrip(".").split())), cued=False)


def _boolean(a: _Ask) -> Any:
    if not (a.asked or a.p.required):
        return None
    return False if _OFF.search(a.raw) else True if _ON.search(a.raw) else None


def _name(a: _Ask) -> Any:
    if m := _NAME.search(a.raw):
        return m.group(1)
    caps = re.findall(r"\b[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?", a.raw)
    return caps[-1] if a.asked and caps else None


def _text(a: _Ask) -> Any:
    if a.asked:
        return _answer_text(a.raw)
    # Only a parameter that holds the caller's own words takes them unasked (a location is asked for).
    return a.raw.strip() if a.p.required and a.alone and a.p.name.lower() in _UTTERANCE else None


def _answer_text(raw: str) -> str | None:
    text = _FILLER.sub("", raw).strip(" .,!?")
    return text or None


def _money(free: str, *, asked: bool) -> tuple[Span, float] | None:
    for pattern in _MONEY:
        for m in pattern.finditer(free):
            if pattern is _CENTS:
                return m.span(), int(m.group(1)) / 100
            value = float(m.group(1).replace(",", ""))
            if m.lastindex and m.lastindex >= 2 and m.group(2):
                value += int(m.group(2)) / 100
            return m.span(), round(value, 2)
    for m in _PAIR.finditer(free):  # "15 50" said as an amount: fifteen fifty
        if asked or _MONEY_CUE.search(free[: m.start()]):
            return m.span(), round(int(m.group(1)) + int(m.group(2)) / 100, 2)
    for m in _BARE_NUMBER.finditer(free):
        if asked or _MONEY_CUE.search(free[: m.start()]):
            return m.span(), round(float(m.group().replace(",", "")), 2)
    return None


def _digits(a: _Ask) -> str | None:
    p, free, asked, alone = a.p, a.free, a.asked, a.alone
    runs = [(m.span(), re.sub(r"\D", "", m.group())) for m in _DIGIT_RUN.finditer(free)]
    keys = p.name.lower() in ("digits", "keys", "extension") or "key" in p.cues
    least = 1 if keys or asked else 3
    runs = [(s, d) for s, d in runs if len(d) >= least]
    if p.length:
        exact = [(s, d) for s, d in runs if len(d) == p.length]
        runs = exact or ([] if not asked else runs)
    if not runs:
        return None
    cued = [(s, d) for s, d in runs if _cued(p, free, s)]
    if cued:
        span, digits = max(cued, key=lambda x: len(x[1]))
    elif asked or (alone and (p.required or p.length)):
        span, digits = max(runs, key=lambda x: len(x[1]))
    else:
        return None
    a.reading.take(span)
    return digits


def _code(a: _Ask) -> str | None:
    p, free = a.p, a.free
    found = []
    for m in _CODE.finditer(free):
        span, code = m.span(), re.sub(r"[^A-Z\d]", "", m.group())
        if p.length and len(code) > p.length:  # ran on into the next number ("Q 2, two bags"): its head
            head = list(re.finditer(r"[A-Z]|\d+", m.group()))
            ends = {len("".join(t.group() for t in head[: i + 1])): head[i].end() for i in range(len(head))}
            if p.length in ends:
                span, code = (m.start(), m.start() + ends[p.length]), code[: p.length]
        if any(ch.isdigit() for ch in code) and len(code) >= 3 and not (p.length and len(code) != p.length):
            found.append((span, code))
    if not found:
        return _digits(a)  # a reference said as digits only
    cued = [f for f in found if _cued(p, free, f[0])]
    if cued or a.asked or a.alone:
        span, code = max(cued or found, key=lambda x: len(x[1]))
        a.reading.take(span)
        return code
    return None


def _number(a: _Ask) -> int | float | None:
    p, free = a.p, a.free
    integer = p.schema.get("type") == "integer"
    value: float | None = None
    for m in _BARE_NUMBER.finditer(free):
        if a.asked or _cued(p, free, m.span(), window=12):
            value = float(m.group().replace(",", ""))
            a.reading.take(m.span())
            break
    if value is None:
        words = "|".join(re.escape(c) for c in p.cues)
        if words and re.search(rf"\b(?:a|an|one)\s+(?:\w+\s+)?(?:{words})", free, re.I):  # "a bag"
            value = 1.0
        elif words and re.search(rf"\ba couple (?:of\s+)?(?:{words})", free, re.I):
            value = 2.0
    if value is None:
        return None
    lo, hi = p.schema.get("minimum"), p.schema.get("maximum")
    if (isinstance(lo, int | float) and value < lo) or (isinstance(hi, int | float) and value > hi):
        return None
    return int(value) if integer else value


def _enum(a: _Ask) -> Any:
    said = lexicon.concepts(a.raw)
    for option in a.p.schema["enum"]:
        words = lexicon.concepts(str(option).replace("_", " "))
        named = {w for w in words if ":" in w} or words  # a concept when the option names one
        if named and named <= said:
            return option
    return None


_READERS: dict[str, Callable[[_Ask], Any]] = {
    "date": _date, "time": _time, "money": _amount, "email": _email, "address": _address, "code": _code,
    "digits": _digits, "number": _number, "enum": _enum, "boolean": _boolean, "name": _name, "text": _text,
}  # fmt: skip
assert set(_READERS) == set(ORDER)
