"""Answers grounded in the company's knowledge base (`flows/knowledge/*.md`): the VoiceRAG pattern.

Passages are the sections of the markdown files (`# Title` then text). A question is matched to the
best passage with BM25; the answer is that passage, and it says which page it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import snowballstemmer
from rank_bm25 import BM25Okapi

from bot.engine.brain.lexicon import concepts  # pure text: the brain's concept groups, no models

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "to",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "for",
        "with",
        "my",
        "your",
        "our",
        "i",
        "you",
        "we",
        "it",
        "do",
        "does",
        "can",
        "could",
        "what",
        "when",
        "where",
        "how",
        "who",
        "which",
        "there",
        "this",
        "that",
        "me",
        "us",
        "please",
        "would",
        "like",
        "tell",
        "about",
        "have",
        "has",
        "if",
        "s",
        "so",
        "just",
    ]
)
MIN_SCORE = 1.0  # below this the best passage does not answer the question


@dataclass(frozen=True)
class Passage:
    title: str
    text: str


_STEM = snowballstemmer.stemmer("english")


def tokens(text: str) -> list[str]:
    """Content words, stemmed ("returns", "returned" → "return"), and the things they name as concepts
    ("broadband" and "wifi" both name n:internet), so a paraphrase meets the page's own words."""
    words = list(_STEM.stemWords([w for w in _WORD.findall(text.lower()) if w not in _STOP]))
    named = sorted(c for c in concepts(text) if c.startswith("n:"))
    return words + named + named  # a concept counts as much as the page's title


def load_passages() -> list[Passage]:
    passages = []
    folder = resources.files("flows").joinpath("knowledge")
    for page in sorted((p for p in folder.iterdir() if p.name.endswith(".md")), key=lambda p: p.name):
        for block in re.split(r"^# ", page.read_text(), flags=re.M):
            title, _, body = block.partition("\n")
            if title.strip() and body.strip():
                passages.append(Passage(title.strip(), " ".join(body.split())))
    return passages


class KnowledgeBase:
    def __init__(self, passages: list[Passage] | None = None) -> None:
        self.passages = passages if passages is not None else load_passages()
        # The title counts twice: it names what the passage is about.
        self._bm25 = BM25Okapi([tokens(f"{p.title} {p.title} {p.text}") for p in self.passages])

    def best(self, question: str) -> Passage | None:
        query = tokens(question)
        if not query or not self.passages:
            return None
        scores = self._bm25.get_scores(query)
        i = int(scores.argmax())
        return self.passages[i] if scores[i] >= MIN_SCORE else None
