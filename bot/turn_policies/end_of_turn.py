"""Semantic end of turn: how much silence ends the caller's turn, given what they said so far.

Short after a complete sentence or a yes/no; long after "my number is 4 5 7", a trailing "and" or
"um" (they are not done); `eagerness` (OpenAI `semantic_vad`, Voice Live `azure_semantic_vad`) sets
the base. Before any transcript exists the base applies; the transcript comes from the speculative
transcription that runs during the silence.
"""

from __future__ import annotations

import re

BASE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 350}
UNFINISHED_MS = 1600  # after a digit run, a conjunction or a filler: they are still talking
CAP_MS = 2500  # never wait longer than this for anything
_UNFINISHED_END = re.compile(
    r"(\d[\d\s,.-]*|\b(and|or|but|so|because|um+|uh+|er+|like|the|a|an|my|is|to|of|number|code))[\s,.-]*$", re.I
)
_COMPLETE_END = re.compile(r"[.?!]\s*$")


def required_silence_ms(transcript: str | None, eagerness: str = "auto") -> int:
    base = BASE_MS.get(eagerness, BASE_MS["auto"])
    if transcript is None:
        return base
    text = transcript.strip()
    if not text:
        return base
    if _UNFINISHED_END.search(text.rstrip("?.!")) and not text.endswith("?"):
        return min(CAP_MS, max(base, UNFINISHED_MS))
    if _COMPLETE_END.search(text):
        return base
    return min(CAP_MS, base + 300)  # no closing punctuation: probably mid-sentence
