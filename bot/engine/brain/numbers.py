"""Numbers as callers say them, rewritten as numerals so the slot readers see one form.

"nine four one oh seven" → "9 4 1 0 7", "a hundred and twelve" → "112", "thirty dollars and
twenty five cents" → "30 dollars and 25 cents", "fifteen fifty" → "15 50" (two groups: the
reader decides if that is an amount), "double five" → "5 5", "the third" → "the 3rd". Pure text.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9}  # fmt: skip
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
            "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
            "twentieth": 20, "thirtieth": 30}  # fmt: skip
REPEAT = {"double": 2, "triple": 3}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
# Homophones that ASR writes in front of a digit run ("it's for 5-7-2-1" was "four five seven two one"),
# read as a digit only right after words that introduce a number.
_HOMOPHONE = {"for": "4", "to": "2", "too": "2", "won": "1", "ate": "8"}
_INTRODUCES = {"it's", "its", "is", "number", "number's", "code", "was"}
_TOKEN = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?(?:st|nd|rd|th)?|[^\sA-Za-z\d]")


def ordinal(n: int) -> str:
    """3 → "3rd", 11 → "11th", 22 → "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _is_word_number(w: str) -> bool:
    return w in UNITS or w in TEENS or w in TENS or w in SCALES


def _groups(words: list[str]) -> list[int]:
    """Cardinal groups in a run of number words: "twenty one" → [21], "fifteen fifty" → [15, 50],
    "nine four" → [9, 4], "a hundred and twelve" → [112], "two thousand five hundred" → [2500]."""
    out: list[int] = []
    total = current = 0
    last = ""  # kind of the last word: unit, teen, tens, scale
    active = False
    for w in words:
        if w in ("and", "a"):
            continue
        if w in SCALES:
            scale = SCALES[w]
            current = max(current, 1) * scale
            if scale >= 1000:
                total, current = total + current, 0
            last, active = "scale", True
            continue
        value = UNITS.get(w, TEENS.get(w, TENS.get(w)))
        if value is None:
            continue
        kind = "unit" if w in UNITS else "teen" if w in TEENS else "tens"
        joins = active and (
            (last == "tens" and kind == "unit") or (last == "scale" and (current % 100 == 0 or (total and not current)))
        )
        if active and not joins:
            out.append(total + current)
            total = current = 0
        current += value
        last, active = kind, True
    if active:
        out.append(total + current)
    return out


@lru_cache(maxsize=1024)
def normalise(text: str) -> str:
    """`text` with spoken numbers as numerals; everything else as it was."""
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    low = [t[0].lower() for t in tokens]
    pieces: list[tuple[int, int, str]] = []  # replacements (start, end, new text)
    i = 0
    while i < len(tokens):
        said = _ordinal(low, i)
        if said:
            n, used = said
            pieces.append((tokens[i][1], tokens[i + used - 1][2], ordinal(n)))
            i += used
            continue
        j, items = _run(low, i)
        if j > i:
            if items:
                pieces.append((tokens[i][1], tokens[j - 1][2], " ".join(items)))
            i = j
            continue
        i += 1
    out, at = [], 0
    for start, end, new in pieces:
        out += [text[at:start], new]
        at = end
    out.append(text[at:])
    return _homophones("".join(out))


def _run(low: list[str], i: int) -> tuple[int, list[str]]:
    """The run of number tokens starting at token i: (index after it, the numerals it says)."""
    items: list[str] = []
    words: list[str] = []
    j = i

    def flush() -> None:
        items.extend(str(g) for g in _groups(words))
        words.clear()

    while j < len(low):
        w = low[j]
        nxt = low[j + 1] if j + 1 < len(low) else ""
        if (
            _is_word_number(w)
            or (w == "a" and nxt in SCALES)
            or (w == "and" and words and words[-1] in SCALES and nxt in UNITS | TEENS | TENS)
        ):
            words.append(w)
        elif w == "-" and words and _is_word_number(nxt):
            pass  # "twenty-five"
        elif w in ("oh", "o") and (words or items or re.fullmatch(r"\d", nxt) or _is_word_number(nxt)):
            flush()
            items.append("0")
        elif w in REPEAT and (nxt in UNITS or nxt in ("oh", "o") or re.fullmatch(r"\d", nxt)):
            flush()
            digit = "0" if nxt in ("oh", "o") else str(UNITS[nxt]) if nxt in UNITS else nxt
            items.extend([digit] * REPEAT[w])
            j += 1
        else:
            break
        j += 1
    flush()
    if j > i and low[i] in ("oh", "o") and len(items) == 1:
        return i, []  # a lone "oh" is a sound, not a zero
    return j, items


def _ordinal(low: list[str], i: int) -> tuple[int, int] | None:
    """An ordinal word as a numeral ("third" → 3). "first" and "second" have other senses ("first of
    all", "just a second"), so only those two need a date around them: "the", a month, "of <month>"."""
    w = low[i]
    prev = low[i - 1] if i else ""
    tens = 0
    used = 1
    if w in TENS and i + 1 < len(low) and low[i + 1] in ORDINALS:  # "twenty first"
        tens, used = TENS[w], 2
        w = low[i + 1]
    if w not in ORDINALS:
        return None
    after = low[i + used : i + used + 2]
    if prev in ("the", *MONTHS) or (after[:1] == ["of"] and after[1:] and after[1] in MONTHS) or w not in (
        "first", "second"
    ):  # fmt: skip
        return tens + ORDINALS[w], used
    return None


def _homophones(text: str) -> str:
    words = re.split(r"(\s+|[,\-])", text)
    for i, w in enumerate(words):
        if w.lower() not in _HOMOPHONE:
            continue
        before = "".join(words[:i]).rstrip(" ,-").lower().split()
        rest = "".join(words[i + 1 :]).lstrip(" ,-")
        if (not before or before[-1] in _INTRODUCES) and re.match(r"\d(?:[ ,\-]?\d){2}", rest):
            words[i] = _HOMOPHONE[w.lower()]
    return "".join(words)
