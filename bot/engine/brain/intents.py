"""What the caller wants, ranked: each tool and each fact in the instructions gets a score.

A score adds two views of the same words: MiniLM cosine between the caller's words and the option's
phrasings (its name in words, its description in the caller's voice, its example phrases if any,
and its verb said the ways callers say it), and the share of the caller's known concepts the option
explains (lexicon.concepts, weighted by how rare each concept is among the options). Tools whose
arguments the words fill score a little more, which tells "move it to Friday at 3" from "cancel it".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.engine.brain import lexicon
from bot.engine.brain.base import ToolSpec

Kind = Literal["tool", "fact"]
LEXICAL_WEIGHT = 0.35
LEXICAL_FLOOR = 3.0  # one known word is not the whole story: "do you fly to Tokyo?" is not a flight tool
VERB_WEIGHT = 1.5  # what to do tells tools over the same thing apart (book / move / cancel an appointment)
KNOWLEDGE = re.compile(r"\b(question|questions|knowledge|faq|information|answer)\b", re.I)
_ABOUT_US = re.compile(r"^\W*(?:\w+\W+)?(?:do|does|are|is|can|will) (?:you|your|there|it|i|we)\b", re.I)
_QUESTION = re.compile(r"\?\s*$|^\W*(?:what|when|where|why|how|who|which|is|are|do|does|can|could|will|would)\b", re.I)


@dataclass(frozen=True)
class Option:
    kind: Kind
    key: str  # tool name, or the fact's sentence
    phrasings: tuple[str, ...]
    concepts: frozenset[str]


@dataclass(frozen=True)
class Scored:
    option: Option
    score: float
    cosine: float
    lexical: float


def humanize(name: str) -> str:
    return re.sub(r"[_\-]+", " ", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)).strip().lower()


_WHOSE = re.compile(r"\b(?:the )?(?:caller|customer|user|patient|passenger|member)'s\b|\btheir\b", re.I)
_WHOM = re.compile(r"\bthe (?:caller|customer|user|patient|passenger|member)\b", re.I)


def voiced(text: str, *, caller: bool) -> str:
    """A description said by the caller ("move my appointment") or to them ("move your appointment")
    instead of about them ("Move the caller's appointment")."""
    return _WHOM.sub("me" if caller else "you", _WHOSE.sub("my" if caller else "your", text))


def description_parts(tool: ToolSpec) -> tuple[str, list[str]]:
    """The description's first sentence, and its example phrases ("Examples: a; b")."""
    description, _, examples = tool.description.partition("Examples:")
    first = re.split(r"(?<=[.!?])\s+", description.strip())[0].strip() if description.strip() else ""
    return first, [e.strip(" .\"'") for e in re.split(r"[;|\n]", examples) if e.strip(" .\"'")]


def verb_group(tool: ToolSpec) -> tuple[str, ...]:
    verb = humanize(tool.name).split(" ")[0]
    return next((g for g in lexicon.VERBS if verb in g), None) or next(
        (g for g in lexicon.VERBS if any(e.split(" ")[0] == verb for e in g)), (verb,)
    )


def verb_concept(tool: ToolSpec) -> str:
    return "v:" + verb_group(tool)[0]


def tool_option(tool: ToolSpec) -> Option:
    first, examples = description_parts(tool)
    words = humanize(tool.name).split(" ")
    obj = " ".join(words[1:])
    phrasings = [humanize(tool.name)]
    if first:
        phrasings.append(voiced(first, caller=True).rstrip("."))
    phrasings += examples
    group = verb_group(tool)
    if obj and not obj.startswith(("to ", "with ")):
        phrasings += [f"I want to {v} my {obj}" for v in group[:3] if " " not in v or v.startswith("look")]
    phrasings += lexicon.CALL_CONTROL_PHRASES.get(group[0], ())
    params = " ".join(humanize(n) + " " + str(s.get("description", "")) for n, s in tool.properties.items()
                      if isinstance(s, dict))  # fmt: skip
    enums = " ".join(str(v) for s in tool.properties.values() if isinstance(s, dict) for v in s.get("enum", []))
    concepts = lexicon.concepts(" ".join((humanize(tool.name), first, *examples, enums)))
    concepts |= {c for c in lexicon.concepts(params) if not c.startswith("v:")}
    return Option("tool", tool.name, tuple(dict.fromkeys(p for p in phrasings if p)), frozenset(concepts))


def fact_option(question: str) -> Option:
    """A fact states; it does nothing, so its verbs are not matched ("pay my bill" is no fact)."""
    return Option(
        "fact", question, (question,), frozenset(c for c in lexicon.concepts(question) if not c.startswith("v:"))
    )


def is_knowledge_tool(tool: ToolSpec) -> bool:
    return bool(KNOWLEDGE.search(tool.name.replace("_", " ") + " " + description_parts(tool)[0]))


def is_about_us(text: str) -> bool:
    """A question about the business ("do you fly to Tokyo?", "can I bring my cat?")."""
    return bool(_ABOUT_US.search(text))


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text.strip()))


class Ranker:
    """Options and their phrasing vectors (rows of `vectors`, `owner[i]` the option of row i)."""

    def __init__(self, options: list[Option], vectors: np.ndarray, owner: list[int]) -> None:
        self.options = options
        self._vectors = vectors
        self._owner = np.array(owner, dtype=np.int64)
        df = Counter(c for o in options for c in o.concepts)
        self._idf = {c: math.log(1 + len(options) / n) for c, n in df.items()}

    @staticmethod
    def phrasings(options: list[Option]) -> tuple[list[str], list[int]]:
        texts, owner = [], []
        for i, o in enumerate(options):
            texts += list(o.phrasings)
            owner += [i] * len(o.phrasings)
        return texts, owner

    def rank(self, text: str, query: np.ndarray, bonus: dict[str, float] | None = None) -> list[Scored]:
        """Every option, best first. `bonus`: extra score by option key (argument evidence)."""
        if not self.options:
            return []
        cos = self._vectors @ query
        best = np.full(len(self.options), -1.0)
        np.maximum.at(best, self._owner, cos)
        said = {c for c in lexicon.concepts(text) if c in self._idf}
        total = max(sum(self._idf[c] * (VERB_WEIGHT if c.startswith("v:") else 1.0) for c in said), LEXICAL_FLOOR)
        out = []
        for i, o in enumerate(self.options):
            lex = sum(self._idf[c] * (VERB_WEIGHT if c.startswith("v:") else 1.0) for c in said & o.concepts) / total
            score = float(best[i]) + LEXICAL_WEIGHT * lex + (bonus or {}).get(o.key, 0.0)
            out.append(Scored(o, score, float(best[i]), lex))
        return sorted(out, key=lambda s: -s.score)
