"""What the offline brain can recognise in a session: its tools' phrasings and its instructions' facts.

Built from `instructions` and `tools` (pure text work); the embeddings are computed by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.engine.brain.base import ToolSpec

CandidateKind = Literal["tool", "fact", "smalltalk"]

# Sentences of instructions that direct the assistant rather than state a fact for callers.
_DIRECTIVE = re.compile(
    r"^(you|your|always|never|be|do|don't|keep|speak|respond|reply|answer|use|ask|greet|if|when|only|avoid|"
    r"stay|make|try|act|call|confirm|introduce|the assistant|as an? )\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_QA = re.compile(r"^\s*Q:\s*(?P<q>.+?)\s*A:\s*(?P<a>.+)$", re.I)

SMALLTALK = {
    "greeting": ["hello", "hi there", "good morning"],
    "thanks": ["thank you", "thanks a lot"],
    "goodbye": ["goodbye", "bye, that's all", "that's everything, thanks, bye"],
}


@dataclass(frozen=True)
class Candidate:
    kind: CandidateKind
    key: str  # tool name, fact text (what to say), or smalltalk intent
    text: str  # what the caller's words are compared with


def humanize(name: str) -> str:
    return re.sub(r"[_\-]+", " ", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)).strip().lower()


def tool_phrases(tool: ToolSpec) -> list[str]:
    """The name in words, the description's first sentence, and its 'Examples: a; b; c' if any."""
    phrases = [humanize(tool.name)]
    description, _, examples = tool.description.partition("Examples:")
    first = _SENTENCE.split(description.strip())[0] if description.strip() else ""
    if first:
        phrases.append(first)
    phrases += [e.strip(" .\"'") for e in re.split(r"[;|\n]", examples) if e.strip(" .\"'")]
    return phrases


def facts(instructions: str) -> list[tuple[str, str]]:
    """(what a caller might ask, what to answer) pairs from the instructions."""
    out: list[tuple[str, str]] = []
    for line in instructions.splitlines():
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
    m = re.search(r"^\s*greeting\s*:\s*(.+)$", instructions, re.I | re.M)
    return m.group(1).strip().strip("\"'") if m else None


def candidates(instructions: str, tools: tuple[ToolSpec, ...]) -> tuple[list[Candidate], dict[str, str]]:
    """Candidates to embed, and the answer for each fact key."""
    cands: list[Candidate] = []
    answers: dict[str, str] = {}
    for tool in tools:
        cands += [Candidate("tool", tool.name, p) for p in tool_phrases(tool)]
    for question, answer in facts(instructions):
        cands.append(Candidate("fact", question, question))
        answers[question] = answer
    for intent, phrases in SMALLTALK.items():
        cands += [Candidate("smalltalk", intent, p) for p in phrases]
    return cands, answers
