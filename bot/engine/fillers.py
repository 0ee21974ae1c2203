"""Filler words out of a transcript (Voice Live's turn_detection.remove_filler_words): "Um, so, uh, I
need to, er, move my appointment" → "So, I need to move my appointment". Only sounds that are never
words ("um", "uh", "er", "erm", "ah", "hmm", "mm"); "like" and "you know" carry meaning too often."""

from __future__ import annotations

import re

_FILLER = re.compile(r"(?:,\s*)?(?<![\w'-])(?:u+m+|u+h+|e+r+m*|a+h+|h*m{2,}|hmm+)(?![\w'-])[,.]?\s*", re.I)


def without_fillers(text: str) -> str:
    kept = re.sub(r"\s{2,}", " ", _FILLER.sub(" ", text)).strip()
    kept = re.sub(r"\s+([,.?!])", r"\1", kept)
    kept = re.sub(r"^[,.]\s*", "", kept)
    return kept[:1].upper() + kept[1:] if kept else kept
