"""What the instructions tell callers: the facts the offline brain may state, and its greeting.

Pure text work over the session's `instructions`: sentences that state something (not the ones
that direct the assistant), and "Q: … A: …" lines.
"""

from __future__ import annotations

import re

# Sentences of instructions that direct the assistant rather than state a fact for callers.
_DIRECTIVE = re.compile(
    r"^(you|your|always|never|be|do|don't|keep|speak|respond|reply|answer|use|ask|greet|only|avoid|"
    r"stay|make|try|act|call|confirm|introduce|offer|the assistant|as an? |"
    r"(?:if|when) (?:the )?(?:caller|customer|user|they|someone|asked|a caller))\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_GREETING = re.compile(r"^\s*greeting\s*:", re.I)
# A line that tells the assistant about this call ("Context: on their first call they said ..."): not for callers.
_CONTEXT = re.compile(r"^\s*(context|background|note|notes|internal)\s*:", re.I)
_QA = re.compile(r"^\s*Q:\s*(?P<q>.+?)\s*A:\s*(?P<a>.+)$", re.I)


def facts(instructions: str) -> list[tuple[str, str]]:
    """(what a caller might ask, what to answer) pairs from the instructions."""
    out: list[tuple[str, str]] = []
    for line in instructions.splitlines():
        if _GREETING.match(line):
            continue  # (said first, not an answer)
        if _CONTEXT.match(line):
            continue  # (what the assistant knows about the call, never read out as an answer)
        qa = _QA.match(line)
        if qa:
            out.append((qa["q"], qa["a"]))
            continue
        for sentence in _SENTENCE.split(line):
            sentence = sentence.strip(" -*•\t")
            if len(sentence.split()) >= 4 and not _DIRECTIVE.match(sentence) and ":" not in sentence[:12]:
                out.append((sentence, sentence))
    return out


def greeting(instructions: str) -> str | None:
    """A line such as 'Greeting: Thanks for calling Acme, how can I help?'"""
    m = re.search(r"^\s*greeting\s*:\s*(.+)$", instructions, re.I | re.M)  # (the first one)
    return m.group(1).strip().strip("\"'") if m else None
