"""A session's index: its tools and facts as options with embedded phrasings, built once and shared
by every turn (the session builds it on session.update, while the greeting plays)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from bot.engine.brain import choice, slots
from bot.engine.brain.base import ToolSpec
from bot.engine.brain.intents import Option, Ranker, Scored, fact_option, tool_option
from bot.engine.brain.knowledge import facts

Embed = Callable[[list[str]], Awaitable[np.ndarray]]


@dataclass(frozen=True)
class Ranking:
    """One turn ranked: options best first, and the arguments the words fill of each tool."""

    scored: list[Scored]
    fills: choice.Fills


@dataclass(frozen=True)
class SessionIndex:
    ranker: Ranker
    answers: dict[str, str]  # fact → what to say
    specs: dict[str, ToolSpec]

    @classmethod
    async def build(cls, instructions: str, tools: tuple[ToolSpec, ...], embed: Embed) -> SessionIndex:
        options: list[Option] = [tool_option(t) for t in tools]
        answers: dict[str, str] = {}
        for question, answer in facts(instructions):
            options.append(fact_option(question))
            answers[question] = answer
        texts, owner = Ranker.phrasings(options)
        vectors = await embed(texts) if texts else np.zeros((0, 384), np.float32)
        return cls(Ranker(options, vectors, owner), answers, {t.name: t for t in tools})

    def rank(self, text: str, query: np.ndarray, today: dt.date, *, required: bool = False) -> Ranking:
        """`required`: tool_choice "required" — only tools, and the best one counts as accepted."""
        fills = {name: slots.read(t, text, today) for name, t in self.specs.items()}
        scored = self.ranker.rank(text, query, choice.adjustments(tuple(self.specs.values()), text, fills))
        if required:
            scored = [s for s in scored if s.option.kind == "tool"]
            if scored and scored[0].score < choice.ACCEPT:
                best = scored[0]
                scored[0] = Scored(best.option, choice.ACCEPT + choice.MARGIN, best.cosine, best.lexical)
        return Ranking(scored, fills)
