"""Which option wins a caller turn, and when to ask instead: the margins of the offline brain.

Pure functions over a ranking (intents.Ranker) and what the words fill of each tool (slots.read).
An option is acted on only when it clears ACCEPT and leads every rival by MARGIN; rivals that
share a verb the caller said, or take the values the caller gave, are offered as a choice instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.engine.brain import lexicon
from bot.engine.brain.base import ToolSpec
from bot.engine.brain.intents import Scored, humanize, is_about_us, is_knowledge_tool, is_question, verb_concept
from bot.engine.brain.numbers import normalise

Fills = dict[str, dict[str, Any]]  # per tool: the arguments the caller's words give it

ACCEPT = 0.50  # combined score a tool or fact needs to be acted on
MARGIN = 0.05  # how far the winner must lead the next tool, or the caller is asked which
FACT_MARGIN = 0.1  # a fact of the instructions this close to the knowledge look-up answers instead
ARGS_BONUS = 0.12  # a tool whose required arguments the words fill (all of them: the whole bonus)
VERB_PENALTY = 0.10  # a tool that changes something, named without its verb ("do you fly to Tokyo?")
READ_ONLY = frozenset(("get", "check", "look", "lookup", "find", "search", "list", "show", "track", "tell", "answer",
                       "verify", "query", "fetch", "read", "view"))  # fmt: skip
CALL_CONTROL = frozenset(("transfer", "connect", "end", "hang", "press", "send", "speak", "talk", "escalate",
                          "forward", "dial"))  # fmt: skip


def consequential(tool: ToolSpec) -> bool:
    """A tool that changes something for the caller (pay, book, cancel, refill…): confirmed first.
    Look-ups and call control (transfer, end, press keys) are not."""
    return humanize(tool.name).split(" ")[0] not in READ_ONLY | CALL_CONTROL


def has_value(text: str) -> bool:
    """A number a tool could take ("forty dollars", "4 5 7"), not a pronoun ("a good one")."""
    return bool(re.search(r"\d{2,}|\d[ ,\-]\d|\$|\d\s*(?:dollars?|cents?|am|pm)\b", normalise(text), re.I))


def adjustments(tools: tuple[ToolSpec, ...], text: str, fills: Fills) -> dict[str, float]:
    """Score added to each tool: its arguments found in the words, less a penalty for a tool that
    changes something named without its verb, or any tool when the caller asks about the business."""
    bonus: dict[str, float] = {}
    for t in tools:
        got = fills.get(t.name, {})
        if t.required and got:
            bonus[t.name] = ARGS_BONUS * sum(1 for n in t.required if n in got) / len(t.required)
        elif got and not is_knowledge_tool(t):
            bonus[t.name] = ARGS_BONUS / 2  # optional arguments only (verify with a ZIP or a birthday)
    said = lexicon.concepts(text)
    about_us = is_about_us(text)
    for t in tools:
        if verb_concept(t) in said or is_knowledge_tool(t):
            continue
        if consequential(t) or (about_us and t.name not in bonus):
            bonus[t.name] = bonus.get(t.name, 0.0) - VERB_PENALTY
    return bonus


@dataclass(frozen=True)
class Verdict:
    kind: Literal["tool", "fact", "clarify", "knowledge", "none"]
    key: str | None = None  # the tool's name or the fact
    options: tuple[str, ...] = ()  # clarify: the tools to choose from, best first


def winner(ranked: list[Scored], text: str, specs: dict[str, ToolSpec], fills: Fills) -> Verdict:
    """What to do with a turn: a tool, a fact, a question between tools, or nothing clear."""
    top = ranked[0] if ranked else None
    knowledge = next((t for t in specs.values() if is_knowledge_tool(t)), None)
    fact = next((s for s in ranked if s.option.kind == "fact"), None)
    if top is not None and fact is not None and _answered_by_instructions(top, fact, knowledge, text):
        return Verdict("fact", fact.option.key)
    if top is None or top.score < ACCEPT:
        if knowledge and is_question(text):  # a question nothing else fits: the catch-all looks it up
            return Verdict("knowledge", knowledge.name)
        return Verdict("none")
    if top.option.kind == "fact":
        return Verdict("fact", top.option.key)
    tools = [s for s in ranked if s.option.kind == "tool" and not is_knowledge_tool(specs[s.option.key])]
    if knowledge and top.option.key == knowledge.name and tools:
        other = tools[0]
        if top.score - other.score < MARGIN and (has_value(text) or not is_question(text)):
            top = other  # a request with details is for the tool that takes them, not the catch-all
    if not fills.get(top.option.key):  # values said that only a close rival can take decide for it
        taker = next((s for s in tools[:3] if fills.get(s.option.key) and specs[s.option.key].required
                      and top.score - s.score < MARGIN), None)  # fmt: skip
        top = taker or top
    if is_knowledge_tool(specs[top.option.key]):
        return Verdict("tool", top.option.key)
    verbs = {c for c in lexicon.concepts(text) if c.startswith("v:")} & top.option.concepts
    rivals = [s for s in tools if s.option is not top.option and top.score - s.score < MARGIN
              and verbs <= s.option.concepts  # a verb the caller said that only the winner has decides
              and (not fills.get(top.option.key) or fills.get(s.option.key))]  # so do values only it takes  # fmt: skip
    rivals += _same_thing(top, tools, text, rivals)
    if rivals:
        return Verdict("clarify", options=(top.option.key, *(s.option.key for s in rivals[:2])))
    return Verdict("tool", top.option.key)


def _answered_by_instructions(top: Scored, fact: Scored, knowledge: ToolSpec | None, text: str) -> bool:
    """The instructions' own answer comes before the general look-up: a question whose best match is
    a fact nearly good enough, or a fact nearly as good as the knowledge tool that leads."""
    if fact.score < ACCEPT - FACT_MARGIN:
        return False
    if fact is top:
        return top.score < ACCEPT and is_question(text)
    return knowledge is not None and top.option.key == knowledge.name and top.score - fact.score < FACT_MARGIN


def _same_thing(top: Scored, ranked: list[Scored], text: str, rivals: list[Scored]) -> list[Scored]:
    """Tools about the same thing when the caller named the thing but not what to do with it
    ("it's about my appointment"): each is a rival, however the scores fell."""
    said = lexicon.concepts(text)
    if any(c.startswith("v:") and c in top.option.concepts for c in said) or has_value(text):
        return []
    things = {c for c in said if c.startswith("n:")} & top.option.concepts
    if not things:
        return []
    return [s for s in ranked if s.option is not top.option and s not in rivals and things <= s.option.concepts
            and top.score - s.score < 3 * MARGIN]  # fmt: skip
