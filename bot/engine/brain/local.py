"""The offline brain: a dialog manager over the session's instructions and tools.

Each caller turn is read for dialog acts (yes, no, "say that again", "that's all, bye") and ranked
against every tool and every fact in the instructions (intents.Ranker). It acts only on a clear
winner: two close tools get a question ("Would you like to move or cancel your appointment?"),
a consequential tool on a weak match gets a check first. Arguments are read by schema (slots),
missing ones are asked for, consequential tools are confirmed, and corrections replace values.
A half-done request survives a side question. One instance per session: it keeps the dialog state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bot.engine.brain import acts, lexicon, slots, wording
from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec, Turn
from bot.engine.brain.intents import (
    Option,
    Ranker,
    Scored,
    fact_option,
    humanize,
    is_about_us,
    is_knowledge_tool,
    is_question,
    tool_option,
    verb_concept,
)
from bot.engine.brain.knowledge import facts, greeting
from bot.engine.brain.numbers import normalise

Embed = Callable[[list[str]], Awaitable[np.ndarray]]

ACCEPT = 0.50  # combined score a tool or fact needs to be acted on
MARGIN = 0.05  # how far the winner must lead the next tool, or the caller is asked which
ARGS_BONUS = 0.12  # a tool whose required arguments the words fill (all of them: the whole bonus)
VERB_PENALTY = 0.10  # a tool that changes something, named without its verb ("do you fly to Tokyo?")
READ_ONLY = {"get", "check", "look", "lookup", "find", "search", "list", "show", "track", "tell", "answer", "verify",
             "query", "fetch", "read", "view"}  # fmt: skip
CALL_CONTROL = {"transfer", "connect", "end", "hang", "press", "send", "speak", "talk", "escalate", "forward", "dial"}
DEFAULT_GREETING = "Hello, thanks for calling. How can I help you today?"
DidKind = Literal["call", "ask", "confirm", "clarify", "fact", "say"]


@dataclass(frozen=True)
class Decision:
    """What the brain decided on the last turn (for tests and the development bench)."""

    kind: DidKind
    tool: str | None = None
    param: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    said: str | None = None  # for "say": goodbye, welcome, help, repeat, unknown, greeting, declined


@dataclass
class _Pending:
    tool: ToolSpec
    args: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None
    confirming: bool = False

    def missing(self) -> list[str]:
        return [name for name in self.tool.required if name not in self.args]


@dataclass
class _Index:
    ranker: Ranker
    answers: dict[str, str]


def consequential(tool: ToolSpec) -> bool:
    """A tool that changes something for the caller (pay, book, cancel, refill…): confirmed first.
    Look-ups and call control (transfer, end, press keys) are not."""
    verb = humanize(tool.name).split(" ")[0]
    return verb not in READ_ONLY | CALL_CONTROL


class LocalBrain:
    def __init__(self, embed: Embed, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._embed = embed
        self._today = today
        self._pending: _Pending | None = None
        self._suspended: _Pending | None = None  # a request waiting while a side question's tool runs
        self._choice: tuple[str, ...] = ()
        self._last_call: ToolCall | None = None
        self._memory: dict[str, Any] = {}  # argument values the caller gave earlier in the call
        self._offered_more = False
        self._turn = 0
        self._index_key: tuple[str, tuple[ToolSpec, ...]] | None = None
        self._index: asyncio.Task[_Index] | None = None
        self.decision: Decision | None = None
        self._specs: dict[str, ToolSpec] = {}
        self._index_answers: dict[str, str] = {}
        self._fills: dict[str, int] = {}  # tool → arguments the last turn's words fill

    async def prepare(self, instructions: str, tools: tuple[ToolSpec, ...]) -> list[str]:
        """Embed the facts and tool phrasings now (not on the first turn); returns lines it is likely
        to say, from the same wording functions the replies use."""
        index = await self._index_for(instructions, tools)
        likely = [wording.ask_line(t, p, i) for t in tools for p in t.required for i in range(len(wording.OPENERS))]
        likely += [*wording.ANYTHING_ELSE, wording.help_line(tools), _unknown(tools), _goodbye(), _declined(0),
                   "Sorry, I didn't catch that. Could you say it again?", *index.answers.values()]  # fmt: skip
        return list(dict.fromkeys(likely))

    async def respond(self, request: DialogRequest) -> AsyncIterator[BrainOutput]:
        last = request.last
        self._turn += 1
        if last is None or last.role in ("assistant", "tool_call", "system"):
            yield self._instructed(request)
            return
        if last.role == "tool_result":
            yield self._speak_result(request, last.text)
            return
        out = await self._on_user(request, last.text.strip())
        if isinstance(out, ToolCall):
            self._last_call = out
            self._memory.update(out.arguments)
            self._decide("call", tool=out.name, args=out.arguments)
        else:
            self._offered_more = any(out.endswith(line) for line in wording.ANYTHING_ELSE)
        yield out

    # --- one caller turn ----------------------------------------------------------------------

    async def _on_user(self, request: DialogRequest, text: str) -> BrainOutput:
        if not text:
            return self._say("repeat", "Sorry, I didn't catch that. Could you say it again?")
        said = acts.acts(text)
        tools = self._tools(request)
        pending = self._pending
        if pending and pending.confirming:
            out = self._on_confirming(pending, text, said)
            if out is not None:
                return out
        if pending and pending.asking:
            got = slots.read(pending.tool, text, self._today(), asked=pending.asking)
            if pending.asking in got:
                pending.args.update(got)
                return self._advance(pending)
        if "repeat" in said and not _has_value(text):
            return self._say("repeat", _last_said(request) or "Sorry, could you say that again?", remember=False)
        ranked = await self._rank(request, text, tools)
        if pending and pending.asking:
            ranked = [s for s in ranked if s.option.key != pending.tool.name]
        elif pending is None and self._last_call is not None and ("no" in said or _CORRECTING.search(text)):
            again = self._redo(text)
            if again is not None:
                return again
        if self._choice:
            picked = self._pick(ranked, text)
            self._choice = ()
            if picked is not None:
                return self._start(picked, text)
        top = ranked[0] if ranked else None
        strong_tool = top is not None and top.option.kind == "tool" and top.score >= ACCEPT + 0.1
        end = next((t for t in tools if humanize(t.name).split(" ")[0] in ("end", "hang")), None)
        if ("done" in said or ("no" in said and self._offered_more and len(text.split()) <= 6)) and (
            not strong_tool or (top is not None and end is not None and top.option.key == end.name)
        ) and not _has_value(text):  # fmt: skip
            self._pending = None
            return ToolCall(end.name, {}) if end else self._say("goodbye", _goodbye())
        if "help" in said:
            return self._say("help", wording.help_line(tools))
        if top is None or top.score < ACCEPT:
            if "thanks" in said:
                return self._say("welcome", "You're welcome. " + self._anything_else())
            if "greeting" in said:
                return self._say("greeting", "Hello! How can I help you today?")
        return self._choose(request, ranked, text, tools)

    def _choose(
        self, request: DialogRequest, ranked: list[Scored], text: str, tools: tuple[ToolSpec, ...]
    ) -> BrainOutput:
        pending = self._pending
        top = ranked[0] if ranked else None
        knowledge = next((t for t in tools if is_knowledge_tool(t)), None)
        if top is None or top.score < ACCEPT:
            if knowledge and is_question(text):  # a question nothing else fits: the catch-all looks it up
                return self._start(knowledge, text)
            if pending and pending.asking:
                return self._say("ask", "Sorry, " + wording.ask_line(pending.tool, pending.asking, None),
                                 kind="ask", tool=pending.tool.name, param=pending.asking)  # fmt: skip
            return self._say("unknown", _unknown(tools))
        if top.option.kind == "fact":
            answer = self._index_answers.get(top.option.key, top.option.key)
            if pending and pending.asking:  # a side question: answer it, then back to the request
                back = wording.ask_line(pending.tool, pending.asking, self._turn)
                return self._said(Decision("fact"), f"{answer} Now, back to your request. {back}")
            self._pending = None
            return self._said(Decision("fact"), f"{answer} {self._anything_else()}")
        tools_ranked = [
            s for s in ranked if s.option.kind == "tool" and not is_knowledge_tool(self._specs[s.option.key])
        ]
        if knowledge and top.option.key == knowledge.name and tools_ranked:
            other = tools_ranked[0]
            if top.score - other.score < MARGIN and (_has_value(text) or not is_question(text)):
                top = other  # a request with details is for the tool that takes them, not the catch-all
        verbs = {c for c in lexicon.concepts(text) if c.startswith("v:")} & top.option.concepts
        fills = self._fills.get(top.option.key, 0)
        if not fills:  # values said that only a close rival can take decide for it ("put $40 on my bill")
            taker = next((s for s in tools_ranked[:3] if self._fills.get(s.option.key) and top.score - s.score < MARGIN
                          and s.option.key in self._specs and self._specs[s.option.key].required), None)  # fmt: skip
            if taker is not None:
                top, fills = taker, self._fills[taker.option.key]
        rivals = [
            s
            for s in tools_ranked
            if s.option is not top.option
            and top.score - s.score < MARGIN
            and verbs <= s.option.concepts  # a verb the caller said that only the winner has decides
            and (not fills or self._fills.get(s.option.key, 0))
        ]  # so do values only the winner takes
        if top.option.key in self._specs and not is_knowledge_tool(self._specs[top.option.key]):
            rivals += self._same_thing(top, tools_ranked, text, rivals)
        if rivals:
            names = (top.option.key, *(s.option.key for s in rivals[:2]))
            self._choice = names
            specs = [t for n in names for t in tools if t.name == n]
            return self._said(Decision("clarify", options=names), wording.choice_line(specs))
        tool = next(t for t in tools if t.name == top.option.key)
        if pending and pending.asking and is_knowledge_tool(tool):
            self._suspended = pending
        return self._start(tool, text)

    def _same_thing(self, top: Scored, ranked: list[Scored], text: str, rivals: list[Scored]) -> list[Scored]:
        """Tools about the same thing when the caller named the thing but not what to do with it
        ("it's about my appointment"): each is a rival, however the scores fell."""
        said = lexicon.concepts(text)
        if any(c.startswith("v:") and c in top.option.concepts for c in said) or _has_value(text):
            return []
        things = {c for c in said if c.startswith("n:")} & top.option.concepts
        if not things:
            return []
        return [s for s in ranked if s.option is not top.option and s not in rivals and things <= s.option.concepts
                and top.score - s.score < 3 * MARGIN]  # fmt: skip

    def _start(self, tool: ToolSpec, text: str) -> BrainOutput:
        fresh = _Pending(tool)
        fresh.args.update(slots.read(tool, text, self._today()))
        for name in fresh.missing():
            if name in self._memory:
                fresh.args[name] = self._memory[name]
        return self._advance(fresh)

    def _on_confirming(self, pending: _Pending, text: str, said: set[acts.Act]) -> BrainOutput | None:
        """Yes, no, or a correction to the request being confirmed; None: the turn is something else."""
        changed = self._correction(pending, text)
        if changed:
            pending.args.update(changed)
            pending.confirming = False
            return self._advance(pending)
        if "yes" in said:
            self._pending = None
            return ToolCall(pending.tool.name, pending.args)
        if "no" in said and len(text.split()) <= 8:
            self._pending = None
            return self._say("declined", _declined(self._turn))
        return None

    def _redo(self, text: str) -> BrainOutput | None:
        """The last call again with a corrected value ("oh sorry, no, it's 4 5 7 2 2")."""
        last = self._last_call
        tool = self._specs.get(last.name) if last else None
        if last is None or tool is None or not last.arguments:
            return None
        changed = self._correction(_Pending(tool, dict(last.arguments)), text)
        if not changed:
            return None
        return self._advance(_Pending(tool, {**last.arguments, **changed}))

    def _correction(self, pending: _Pending, text: str) -> dict[str, Any]:
        """New values for the request: "no, it's 4 5 7 2 2", "actually make it Friday", "make it two"."""
        got = slots.read(pending.tool, text, self._today())
        if got:
            return {k: v for k, v in got.items() if pending.args.get(k) != v}
        order = ("number", "money", "date", "time", "enum", "boolean", "digits", "code")
        held = sorted((p for p in slots.params(pending.tool) if p.name in pending.args and p.kind in order),
                      key=lambda p: order.index(p.kind))  # fmt: skip
        for p in held:  # a bare value ("make it two"): the parameter it fits best
            value = slots.read(pending.tool, text, self._today(), asked=p.name, only={p.name}).get(p.name)
            if p.kind in ("digits", "code") and len(str(value or "")) != len(str(pending.args[p.name])):
                continue  # an identifier is corrected by one of the same length
            if value is not None and value != pending.args[p.name]:
                return {p.name: value}
        return {}

    def _advance(self, pending: _Pending) -> BrainOutput:
        """Ask for the next missing argument, confirm, or call."""
        missing = pending.missing()
        if missing:
            pending.asking, pending.confirming = missing[0], False
            self._pending = pending
            return self._said(Decision("ask", tool=pending.tool.name, param=missing[0], args=dict(pending.args)),
                              wording.ask_line(pending.tool, missing[0], self._turn))  # fmt: skip
        if consequential(pending.tool) and not pending.confirming:
            pending.asking, pending.confirming = None, True
            self._pending = pending
            return self._said(Decision("confirm", tool=pending.tool.name, args=dict(pending.args)),
                              wording.confirm_line(pending.tool, pending.args))  # fmt: skip
        self._pending = None
        return ToolCall(pending.tool.name, dict(pending.args))

    def _pick(self, ranked: list[Scored], text: str) -> ToolSpec | None:
        """The answer to "do you want to move it, or cancel it?": the offered tool the words fit best."""
        offered = [s for s in ranked if s.option.key in self._choice]
        ordinal = re.search(r"\b(first|second|third|last)\b", text, re.I)
        if ordinal and offered:
            at = {"first": 0, "second": 1, "third": 2, "last": len(self._choice) - 1}[ordinal.group(1).lower()]
            key = self._choice[min(at, len(self._choice) - 1)]
            return self._specs.get(key)
        if len(offered) >= 2 and offered[0].score - offered[1].score < MARGIN / 2:
            return None
        return self._specs.get(offered[0].option.key) if offered else None

    # --- replies that are not about a caller's request -------------------------------------------

    def _speak_result(self, request: DialogRequest, output: str) -> str:
        said, worded = wording.result_line(output)
        suspended, self._suspended = self._suspended, None
        if suspended is not None and suspended.asking:
            self._pending = suspended
            back = wording.ask_line(suspended.tool, suspended.asking, self._turn)
            return f"{said} Now, back to your request. {back}"
        self._pending = None
        if worded and said.rstrip().endswith("?"):
            self._offered_more = True
            return said
        self._offered_more = True
        return f"{said} {self._anything_else()}"

    def _instructed(self, request: DialogRequest) -> str:
        """A reply with no new caller words: the response instructions' quoted line, or a greeting."""
        ri = request.response_instructions or ""
        quoted = re.search(r"[\"“]([^\"”]+)[\"”]", ri)
        if quoted:
            return quoted.group(1)
        if re.search(r"\b(goodbye|bye|end the call)\b", ri, re.I):
            return _goodbye()
        return greeting(request.instructions) or DEFAULT_GREETING

    def _anything_else(self) -> str:
        return wording.ANYTHING_ELSE[self._turn % len(wording.ANYTHING_ELSE)]

    def _decide(self, kind: DidKind, **fields: Any) -> None:
        self.decision = Decision(kind, **fields)

    def _said(self, decision: Decision, line: str) -> str:
        self.decision = decision
        return line

    def _say(self, said: str, line: str, *, remember: bool = True, kind: DidKind = "say", tool: str | None = None,
             param: str | None = None) -> str:  # fmt: skip
        del remember
        return self._said(Decision(kind, tool=tool, param=param, said=said if kind == "say" else None), line)

    # --- ranking ------------------------------------------------------------------------------

    def _tools(self, request: DialogRequest) -> tuple[ToolSpec, ...]:
        if request.tool_choice == "none":
            return ()
        if isinstance(request.tool_choice, dict):
            return tuple(t for t in request.tools if t.name == request.tool_choice.get("name"))
        return request.tools

    async def _rank(self, request: DialogRequest, text: str, tools: tuple[ToolSpec, ...]) -> list[Scored]:
        index = await self._index_for(request.instructions, tools)
        self._specs = {t.name: t for t in tools}
        self._index_answers = index.answers
        if not index.ranker.options:
            return []
        query = (await self._embed([text]))[0]
        bonus: dict[str, float] = {}
        self._fills = {}
        for t in tools:
            got = slots.read(t, text, self._today())
            self._fills[t.name] = len(got)
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
        ranked = index.ranker.rank(text, query, bonus)
        if request.tool_choice == "required":
            ranked = [s for s in ranked if s.option.kind == "tool"]
            if ranked and ranked[0].score < ACCEPT:
                ranked[0] = Scored(ranked[0].option, ACCEPT + MARGIN, ranked[0].cosine, ranked[0].lexical)
        return ranked

    async def _index_for(self, instructions: str, tools: tuple[ToolSpec, ...]) -> _Index:
        """The index for these instructions and tools; a build already running (prepare) is awaited,
        not repeated, and a cancelled reply does not cancel it."""
        key = (instructions, tools)
        task = self._index
        if task is None or self._index_key != key or (task.done() and task.exception() is not None):
            task = self._index = asyncio.ensure_future(self._build_index(instructions, tools))
            self._index_key = key
        return await asyncio.shield(task)

    async def _build_index(self, instructions: str, tools: tuple[ToolSpec, ...]) -> _Index:
        options: list[Option] = [tool_option(t) for t in tools]
        answers: dict[str, str] = {}
        for question, answer in facts(instructions):
            options.append(fact_option(question))
            answers[question] = answer
        texts, owner = Ranker.phrasings(options)
        vectors = await self._embed(texts) if texts else np.zeros((0, 384), np.float32)
        return _Index(Ranker(options, vectors, owner), answers)


_CORRECTING = re.compile(r"\b(actually|i meant|i mean|sorry|wrong|make it|change it|instead)\b", re.I)


def _has_value(text: str) -> bool:
    """A number a tool could take ("forty dollars", "4 5 7"), not a pronoun ("a good one")."""
    return bool(re.search(r"\d{2,}|\d[ ,\-]\d|\$|\d\s*(?:dollars?|cents?|am|pm)\b", normalise(text), re.I))


def _last_said(request: DialogRequest) -> str | None:
    for turn in reversed(request.history[:-1]):
        if turn.role == "assistant" and turn.text:
            return turn.text
    return None


def _goodbye() -> str:
    return "Thanks for calling. Goodbye!"


def _declined(turn: int) -> str:
    return "Okay, I won't do that. " + wording.ANYTHING_ELSE[turn % len(wording.ANYTHING_ELSE)]


def _unknown(tools: tuple[ToolSpec, ...]) -> str:
    if tools:
        return "Sorry, I don't have an answer to that. " + wording.help_line(tools)
    return "Sorry, I don't have an answer to that. Could you put it another way?"


__all__ = ["Decision", "LocalBrain", "Turn", "consequential"]
