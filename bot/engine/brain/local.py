"""The offline brain: a dialog manager over the session's instructions and tools.

Each caller turn is read for dialog acts (yes, no, "say that again", "that's all, bye") and ranked
against every tool and every fact in the instructions (index.SessionIndex); choice.winner acts only
on a clear winner and asks between close ones ("Would you like to move or cancel your
appointment?"). Arguments are read by schema (slots), missing ones are asked for, tools that change
something are confirmed, corrections replace values, and a half-done request survives a side
question. One instance per session: it keeps the dialog state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.engine.brain import acts, heard, menu, slots, wording
from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec
from bot.engine.brain.choice import ACCEPT, MARGIN, consequential, has_value, winner
from bot.engine.brain.index import Embed, Ranking, SessionIndex
from bot.engine.brain.intents import Scored, humanize, is_knowledge_tool, is_question
from bot.engine.brain.knowledge import greeting
from bot.realtime.say import line_to_say
from bot.redact import luhn_ok, secret_kind

DEFAULT_GREETING = "Hello, thanks for calling. How can I help you today?"
NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
WELCOME = "You're welcome."
GREETING = "Hello! How can I help you today?"
ASK_WHAT = "Sure. What can I do for you?"
CARD_AGAIN = "Sorry, I didn't get the whole card number. Could you read it to me again, four digits at a time?"
HOLD_ON = "Sure, take your time."
BACK = "Now, back to your request."
DidKind = Literal["call", "ask", "confirm", "clarify", "fact", "say"]
# The first sentences of the replies it says whatever the tools: the engine synthesizes them at start,
# so no session spends its first seconds on them (tests check each is what a reply starts with).
STOCK_OPENINGS = (*wording.OPENERS, wording.ASK_TIME, *wording.ANYTHING_ELSE, *wording.RESULT_OPENERS, WELCOME, "Hello!", HOLD_ON,
                  "Sorry, I didn't catch that.", "Okay, I won't do that.", "Sorry, I don't have an answer to that.",
                  "Sorry, I didn't quite get that.", "Thanks for calling.")  # fmt: skip
_CORRECTING = re.compile(r"\b(actually|i meant|i mean|sorry|wrong|make it|change it|instead)\b", re.I)
_OPERATOR = re.compile(r"\b(operator|representative|agent|someone|a person|customer service)\b", re.I)
_HANDING_OFF = re.compile(r"\b(please hold|hold on|one moment|goodbye|bye)\W*$", re.I)
_BARE_KINDS = ("number", "money", "date", "time", "enum", "boolean", "digits", "code")  # correctable by a bare value


@dataclass(frozen=True)
class Decision:
    """What the brain decided on the last turn (for tests and the development bench)."""

    kind: DidKind
    tool: str | None = None
    param: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    said: str | None = None  # for "say": goodbye, welcome, help, repeat, unknown, greeting, declined, wait, prompt


@dataclass
class _Pending:
    tool: ToolSpec
    args: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None
    confirming: bool = False

    def missing(self) -> list[str]:
        return [name for name in self.tool.required if name not in self.args]


class LocalBrain:
    def __init__(self, embed: Embed, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._embed = embed
        self._today = today
        self._pending: _Pending | None = None
        self._suspended: _Pending | None = None  # a request waiting while a side question's tool runs
        self._choice: tuple[str, ...] = ()  # tools just offered as a choice
        self._last_call: ToolCall | None = None
        self._memory: dict[str, Any] = {}  # argument values the caller gave earlier in the call
        self._offered_more = False  # the last reply asked "anything else?"
        self._turn = 0
        self._index_key: tuple[str, tuple[ToolSpec, ...]] | None = None
        self._index: asyncio.Task[SessionIndex] | None = None
        self._specs: dict[str, ToolSpec] = {}
        self._answers: dict[str, str] = {}
        self.decision: Decision | None = None

    async def prepare(self, instructions: str, tools: tuple[ToolSpec, ...]) -> list[str]:
        """Embed the facts and tool phrasings now (not on the first turn); returns lines it is likely
        to say, from the same wording functions the replies use."""
        index = await self._index_for(instructions, tools)
        likely = [wording.ask_line(t, p, i) for t in tools for p in t.required for i in range(len(wording.OPENERS))]
        likely += [*wording.ANYTHING_ELSE, *wording.RESULT_OPENERS, WELCOME, GREETING,
                   wording.help_line(tools), _unknown(tools), _unknown(tools, question=False),
                   _goodbye(), _declined(0),
                   NOT_HEARD, *index.answers.values()]  # fmt: skip
        return list(dict.fromkeys(likely))

    async def respond(self, request: DialogRequest) -> AsyncIterator[BrainOutput]:
        last = request.last
        self._turn += 1
        unheard = last is not None and last.role == "user" and not last.text.strip()
        if (
            last is None
            or last.role in ("assistant", "tool_call", "system")
            or (unheard and request.response_instructions)
        ):
            # (a reply with no new words; or to a silent turn the client says what to do with: idle timeout)
            yield self._instructed(request)
            return
        if last.role == "tool_result":
            yield self._speak_result(last.text)
            return
        out = await self._on_user(request, last.text.strip())
        if isinstance(out, ToolCall):
            self._last_call = out
            self._memory.update(out.arguments)
            self.decision = Decision("call", tool=out.name, args=out.arguments)
        else:
            self._offered_more = any(out.endswith(line) for line in wording.ANYTHING_ELSE)
        yield out

    # --- one caller turn ----------------------------------------------------------------------

    async def _on_user(self, request: DialogRequest, text: str) -> BrainOutput:
        if not text:
            return self._say("repeat", NOT_HEARD)
        keys = await self._menu_keys(request, text)
        if keys is not None:
            return keys
        said = acts.acts(text)
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
            if "no" in said and not has_value(text) and len(text.split()) <= 6:  # "actually, never mind"
                self._pending = None
                return self._say("declined", _declined(self._turn))
        if "repeat" in said and not has_value(text):
            return self._say("repeat", heard.last_said(request) or "Sorry, could you say that again?")
        ranking = await self._rank(request, text)
        carded = [n for n, got in ranking.fills.items() if any(secret_kind(k) == "card" for k in got)]
        if len(carded) == 1 and carded[0] in self._specs:  # a card number said goes where a card is taken
            return self._start(self._specs[carded[0]], ranking.fills[carded[0]])
        scored = ranking.scored
        if pending and pending.asking:  # not an answer: the same request again says nothing new
            scored = [s for s in scored if s.option.key != pending.tool.name]
        elif pending is None and self._last_call is not None and ("no" in said or _CORRECTING.search(text)):
            again = self._redo(text)
            if again is not None:
                return again
        if self._choice:
            picked, self._choice = self._pick(scored, text), ()
            if picked is not None:
                return self._start(picked, ranking.fills[picked.name])
        top = scored[0] if scored else None
        end = next((t for t in self._specs.values() if humanize(t.name).split(" ")[0] in ("end", "hang")), None)
        strong = (
            top is not None
            and top.option.kind == "tool"
            and top.score >= ACCEPT + 0.1
            and top.option.key != (end and end.name)
        )
        leaving = "done" in said or ("no" in said and self._offered_more and len(text.split()) <= 6)
        if leaving and not strong and not has_value(text):
            self._pending = None
            return ToolCall(end.name, {}) if end else self._say("goodbye", _goodbye())
        if "help" in said:
            return self._say("help", wording.help_line(tuple(self._specs.values())))
        if "wait" in said and (top is None or top.score < ACCEPT):  # "hang on a sec": the line stays open
            return self._say("wait", HOLD_ON)
        ending = top is not None and end is not None and top.option.key == end.name
        if "thanks" in said and ending:  # thanked without a goodbye ("thanks for calling me back"): the call goes on
            return self._say("welcome", f"{WELCOME} {self._anything_else()}")
        if top is None or top.score < ACCEPT:
            if (
                "yes" in said
                and "thanks" not in said
                and not pending
                and len(text.split()) <= 3
                and not has_value(text)
            ):
                return self._say("prompt", ASK_WHAT)  # "Oh, great." / "Yes." to nothing asked: what can we do
            if "thanks" in said:
                return self._say("welcome", f"{WELCOME} {self._anything_else()}")
            if "greeting" in said:  # a first "Hello?" (a callee picking up): the instructions' own greeting
                own = greeting(request.instructions)
                return self._say("greeting", own if own and not heard.greeted(request, own) else GREETING)
        return self._act(Ranking(scored, ranking.fills), text)

    def _act(self, ranking: Ranking, text: str) -> BrainOutput:
        pending = self._pending
        verdict = winner(ranking.scored, text, self._specs, ranking.fills)
        if verdict.kind == "none":
            if pending and pending.asking:
                return self._said(Decision("ask", tool=pending.tool.name, param=pending.asking),
                                  "Sorry, " + _lower_first(wording.ask_line(pending.tool, pending.asking, None)))  # fmt: skip
            return self._say("unknown", _unknown(tuple(self._specs.values()), question=is_question(text)))
        if verdict.kind == "fact":
            answer = self._answers.get(str(verdict.key), str(verdict.key))
            if pending and pending.asking:  # a side question: answer it, then back to the request
                back = wording.ask_line(pending.tool, pending.asking, self._turn)
                return self._said(Decision("fact"), f"{answer} {BACK} {back}")
            self._pending = None
            return self._said(Decision("fact"), f"{answer} {self._anything_else()}")
        if verdict.kind == "clarify":
            self._choice = verdict.options
            line = wording.choice_line([self._specs[n] for n in verdict.options])
            return self._said(Decision("clarify", options=verdict.options), line)
        tool = self._specs[str(verdict.key)]
        if pending and pending.asking and is_knowledge_tool(tool):
            self._suspended = pending  # the request goes on once the answer is said
        return self._start(tool, ranking.fills[tool.name])

    def _start(self, tool: ToolSpec, args: dict[str, Any]) -> BrainOutput:
        """A new request for `tool` with the arguments the caller's words gave it."""
        fresh = _Pending(tool, dict(args))
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
        return self._advance(_Pending(tool, {**last.arguments, **changed})) if changed else None

    def _correction(self, pending: _Pending, text: str) -> dict[str, Any]:
        """New values for the request: "no, it's 4 5 7 2 2", "actually make it Friday", "make it two"."""
        got = slots.read(pending.tool, text, self._today())
        if got:
            return {k: v for k, v in got.items() if pending.args.get(k) != v}
        held = sorted((p for p in slots.params(pending.tool) if p.name in pending.args and p.kind in _BARE_KINDS),
                      key=lambda p: _BARE_KINDS.index(p.kind))  # fmt: skip
        for p in held:  # a bare value: the parameter it fits best
            value = slots.read(pending.tool, text, self._today(), asked=p.name, only={p.name}).get(p.name)
            if p.kind in ("digits", "code") and len(str(value or "")) != len(str(pending.args[p.name])):
                continue  # an identifier is corrected by one of the same length
            if value is not None and value != pending.args[p.name]:
                return {p.name: value}
        return {}

    def _advance(self, pending: _Pending) -> BrainOutput:
        """Ask for the next missing argument, confirm, or call."""
        misheard = next((name for name, value in pending.args.items() if _misheard_card(name, value)), None)
        if misheard is not None:  # a digit lost or doubled on the way (it fails the card's check): read it again
            del pending.args[misheard]
            pending.asking, pending.confirming = misheard, False
            self._pending = pending
            return self._said(Decision("ask", tool=pending.tool.name, param=misheard, args=dict(pending.args)),
                              CARD_AGAIN)  # fmt: skip
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

    def _pick(self, scored: list[Scored], text: str) -> ToolSpec | None:
        """The answer to "do you want to move it, or cancel it?": the offered tool the words fit best."""
        offered = [s for s in scored if s.option.key in self._choice]
        ordinal = re.search(r"\b(first|second|third|last)\b", text, re.I)
        if ordinal:
            at = {"first": 0, "second": 1, "third": 2, "last": len(self._choice) - 1}[ordinal.group(1).lower()]
            return self._specs.get(self._choice[min(at, len(self._choice) - 1)])
        if not offered or (len(offered) >= 2 and offered[0].score - offered[1].score < MARGIN / 2):
            return None
        return self._specs.get(offered[0].option.key)

    async def _menu_keys(self, request: DialogRequest, text: str) -> BrainOutput | None:
        """On a call into another phone system: its menu's option for the instructions' goal, pressed
        (with a keypad tool), else its operator option, else silence (the menu goes on: nothing is
        said over it); None when this turn is no menu."""
        wanted = menu.goal(request.instructions)
        press = next((t for t in request.tools if humanize(t.name).split(" ")[0] in ("press", "dial", "send")), None)
        heard = menu.options(text) if wanted and press else []
        if press is None or wanted is None:
            return None
        if not heard:  # its greeting before the options: silence (not a goodbye to "Thank you for calling")
            return self._say("menu", "") if menu.preamble(text) else None
        picked = await menu.choose(heard, wanted, self._embed)
        picked = picked or next((o for o in heard if _OPERATOR.search(o.label)), None)
        if picked is None:
            return self._say("menu", "")
        digits = next(iter(press.required), None) or next(iter(press.parameters.get("properties", {})), "digits")
        return ToolCall(press.name, {digits: picked.key})

    # --- replies that are not about a caller's request -------------------------------------------

    def _speak_result(self, output: str) -> str:
        said, worded = wording.result_line(output)
        suspended, self._suspended = self._suspended, None
        if suspended is not None and suspended.asking:
            self._pending = suspended
            return f"{said} {BACK} {wording.ask_line(suspended.tool, suspended.asking, self._turn)}"
        self._pending = None
        self._offered_more = True
        if worded and (said.rstrip().endswith("?") or _HANDING_OFF.search(said)):
            return said  # (its own question; or the call goes elsewhere: "Please hold.", "Goodbye!")
        if not worded and not said.startswith(wording.ERROR_OPENING):
            said = f"{wording.RESULT_OPENERS[self._turn % len(wording.RESULT_OPENERS)]} {said}"
        return f"{said} {self._anything_else()}"

    def _instructed(self, request: DialogRequest) -> str:
        """A reply with no new caller words: the response instructions' quoted line, or a greeting."""
        ri = request.response_instructions or ""
        line = line_to_say(ri)
        if line is not None:
            return line
        quoted = re.search(r"[\"“]([^\"”]+)[\"”]", ri)
        if quoted:
            return quoted.group(1)
        if re.search(r"\b(goodbye|bye|end the call)\b", ri, re.I):
            return _goodbye()
        return greeting(request.instructions) or DEFAULT_GREETING

    def _anything_else(self) -> str:
        return wording.ANYTHING_ELSE[self._turn % len(wording.ANYTHING_ELSE)]

    def _said(self, decision: Decision, line: str) -> str:
        self.decision = decision
        return line

    def _say(self, said: str, line: str) -> str:
        return self._said(Decision("say", said=said), line)

    # --- ranking ------------------------------------------------------------------------------

    async def _rank(self, request: DialogRequest, text: str) -> Ranking:
        tools = request.tools
        if request.tool_choice == "none":
            tools = ()
        elif isinstance(request.tool_choice, dict):
            tools = tuple(t for t in tools if t.name == request.tool_choice.get("name"))
        index = await self._index_for(request.instructions, tools)
        self._specs, self._answers = index.specs, index.answers
        if not index.ranker.options:
            return Ranking([], {})
        query = (await self._embed([text]))[0]
        return index.rank(text, query, self._today(), required=request.tool_choice == "required")

    async def _index_for(self, instructions: str, tools: tuple[ToolSpec, ...]) -> SessionIndex:
        """The index for these instructions and tools; a build already running (prepare) is awaited,
        not repeated, and a cancelled reply does not cancel it."""
        key = (instructions, tools)
        task = self._index
        if task is None or self._index_key != key or (task.done() and task.exception() is not None):
            task = self._index = asyncio.ensure_future(SessionIndex.build(instructions, tools, self._embed))
            self._index_key = key
        return await asyncio.shield(task)


def _lower_first(line: str) -> str:
    return line[:1].lower() + line[1:] if line[1:2].islower() else line


def _misheard_card(name: str, value: object) -> bool:
    """A card number that cannot be one: its digits fail the Luhn check every card passes."""
    digits = re.sub(r"\D", "", str(value))
    return secret_kind(name) == "card" and len(digits) >= 13 and not luhn_ok(digits)


def _goodbye() -> str:
    return "Thanks for calling. Goodbye!"


def _declined(turn: int) -> str:
    return "Okay, I won't do that. " + wording.ANYTHING_ELSE[turn % len(wording.ANYTHING_ELSE)]


def _unknown(tools: tuple[ToolSpec, ...], *, question: bool = True) -> str:
    """Nothing fits: a question gets "I don't know", anything else "I didn't get that"; then what it can do."""
    opening = "Sorry, I don't have an answer to that." if question else "Sorry, I didn't quite get that."
    return f"{opening} {wording.help_line(tools)}" if tools else f"{opening} Could you put it another way?"
