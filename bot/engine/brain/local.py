"""The offline brain: a dialog manager over the session's instructions and tools.

It recognises what the caller wants by comparing their words with the tools' phrasings and the
instructions' facts (MiniLM sentence embeddings), reads the tool's arguments from what was said,
asks for missing required ones, confirms before consequential tools, emits the tool call, and
speaks tool results and facts. One instance per session: it remembers a half-filled tool call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.engine.brain import slots
from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec, Turn
from bot.engine.brain.knowledge import SMALLTALK, Candidate, candidates, greeting, humanize

Embed = Callable[[list[str]], Awaitable[np.ndarray]]

TOOL_THRESHOLD = 0.45  # cosine; below it a tool is not what the caller asked for
FACT_THRESHOLD = 0.40
SMALLTALK_THRESHOLD = 0.60
# Tools whose name starts with one of these change something for the caller: confirm first.
CONSEQUENTIAL = {"pay", "charge", "refund", "cancel", "book", "schedule", "reschedule", "move", "delete", "update",
                 "change", "purchase", "submit", "place", "create"}  # fmt: skip
ANYTHING_ELSE = "Is there anything else I can help you with?"
DEFAULT_GREETING = "Hello, thanks for calling. How can I help you today?"
SPEAKABLE_KEYS = ("message", "speech", "say", "answer", "text", "summary")


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
    cands: list[Candidate]
    answers: dict[str, str]
    vectors: np.ndarray


class LocalBrain:
    def __init__(self, embed: Embed, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._embed = embed
        self._today = today
        self._pending: _Pending | None = None
        self._index_key: tuple[str, tuple[ToolSpec, ...]] | None = None
        self._index: asyncio.Task[_Index] | None = None  # built once per (instructions, tools), shared

    async def prepare(self, instructions: str, tools: tuple[ToolSpec, ...]) -> list[str]:
        """Embed the facts and tool phrasings now (~0.5 s on 2 cores the first time), not on the first
        turn; returns replies it is likely to give: stock lines, fact answers, and each templated
        line (ask, confirm, tool result) filled with example values, from the same templates."""
        index = await self._index_for(instructions, tools)
        request = DialogRequest(instructions, (), tools, "auto")
        example = {"status": "shipped", "delivery": "Friday", "date": "2 December", "time": "10 am"}
        likely = [*(_ask_line(t, p) for t in tools for p in t.required),
                  *(_confirm_line(t, {p: example.get(p, "4 5 7 2 1") for p in t.required})
                    for t in tools if _consequential(t)),
                  speak_tool_result(json.dumps(example))[0],
                  "Sorry, I didn't catch that. Could you say it again?",
                  "Okay, I won't do that. " + ANYTHING_ELSE, ANYTHING_ELSE, self._fallback(request),
                  *(_smalltalk(intent) for intent in SMALLTALK), *index.answers.values()]  # fmt: skip
        return list(dict.fromkeys(likely))

    async def respond(self, request: DialogRequest) -> AsyncIterator[BrainOutput]:
        last = request.last
        if last is None or last.role in ("assistant", "tool_call", "system"):
            yield self._instructed(request)
        elif last.role == "tool_result":
            self._pending = None
            said, worded = speak_tool_result(last.text)
            yield said if worded else said + " " + ANYTHING_ELSE
        else:
            async for out in self._on_user(request, last):
                yield out

    async def _on_user(self, request: DialogRequest, turn: Turn) -> AsyncIterator[BrainOutput]:
        text = turn.text.strip()
        if not text:
            yield "Sorry, I didn't catch that. Could you say it again?"
            return
        pending = self._pending
        if pending and pending.confirming:
            if slots.is_yes(text):
                self._pending = None
                yield ToolCall(pending.tool.name, pending.args)
                return
            if slots.is_no(text):
                self._pending = None
                yield "Okay, I won't do that. " + ANYTHING_ELSE
                return
        if pending and pending.asking:
            self._fill(pending, text, asked=pending.asking)
            if pending.asking in pending.args:
                yield self._advance(pending)
                return
        best = await self._classify(text, request)
        if best is None:
            if pending and pending.asking:
                yield f"Sorry, I still need {_describe(pending.tool, pending.asking)}."
                return
            yield self._fallback(request)
            return
        cand, _score, answers = best
        if cand.kind == "tool":
            tool = next(t for t in request.tools if t.name == cand.key)
            fresh = _Pending(tool)
            self._fill(fresh, text, asked=None)
            yield self._advance(fresh)
        elif cand.kind == "fact":
            self._pending = None
            yield answers[cand.key] + " " + ANYTHING_ELSE
        else:
            yield _smalltalk(cand.key)

    def _advance(self, pending: _Pending) -> BrainOutput:
        """Ask for the next missing argument, confirm, or call."""
        missing = pending.missing()
        if missing:
            pending.asking, pending.confirming = missing[0], False
            self._pending = pending
            return _ask_line(pending.tool, missing[0])
        if _consequential(pending.tool) and not pending.confirming:
            pending.asking, pending.confirming = None, True
            self._pending = pending
            return _confirm_line(pending.tool, pending.args)
        self._pending = None
        return ToolCall(pending.tool.name, pending.args)

    def _fill(self, pending: _Pending, text: str, asked: str | None) -> None:
        taken: list[slots.Span] = []
        names = list(pending.tool.properties)
        if asked in names:  # the parameter just asked for reads first, and may take a bare number
            names.remove(asked)
            names.insert(0, asked)
        for name in names:
            if name in pending.args:
                continue
            schema = pending.tool.properties[name]
            kind = slots.kind_of(name, schema)
            if kind == "text" and name != asked and name not in pending.tool.required:
                continue  # optional free text only when asked for, or it would swallow every utterance
            value = slots.extract(name, schema, text, taken, self._today(), asked=name == asked)
            if value is not None:
                pending.args[name] = value

    async def _classify(self, text: str, request: DialogRequest) -> tuple[Candidate, float, dict[str, str]] | None:
        """The best candidate for `text` above its threshold, its score, and the fact answers."""
        tools = request.tools if request.tool_choice != "none" else ()
        if isinstance(request.tool_choice, dict):
            tools = tuple(t for t in tools if t.name == request.tool_choice.get("name"))
        index = await self._index_for(request.instructions, tools)
        if not index.cands:
            return None
        query = (await self._embed([text]))[0]
        scores = index.vectors @ query
        best: tuple[Candidate, float] | None = None
        for cand, score in zip(index.cands, scores, strict=True):
            threshold = {"tool": TOOL_THRESHOLD, "fact": FACT_THRESHOLD, "smalltalk": SMALLTALK_THRESHOLD}[cand.kind]
            if request.tool_choice == "required" and cand.kind == "tool":
                threshold = -1.0
            if score >= threshold and (best is None or score > best[1]):
                best = (cand, float(score))
        return None if best is None else (*best, index.answers)

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
        cands, answers = candidates(instructions, tools)
        vectors = await self._embed([c.text for c in cands]) if cands else np.zeros((0, 384), np.float32)
        return _Index(cands, answers, vectors)

    def _instructed(self, request: DialogRequest) -> str:
        """A reply with no new caller words: say what response.create's instructions quote, or greet."""
        ri = request.response_instructions or ""
        quoted = re.search(r"[\"“]([^\"”]+)[\"”]", ri)
        if quoted:
            return quoted.group(1)
        if re.search(r"\b(goodbye|bye|end the call)\b", ri, re.I):
            return _smalltalk("goodbye")
        return greeting(request.instructions) or DEFAULT_GREETING

    def _fallback(self, request: DialogRequest) -> str:
        if request.tools:
            able = ", ".join(humanize(t.name) for t in request.tools[:4])
            return f"Sorry, I didn't quite get that. I can help with things like: {able}. What would you like to do?"
        return "Sorry, I didn't quite get that. Could you put it another way?"


def _consequential(tool: ToolSpec) -> bool:
    """A tool that changes something (pay, book, cancel…): the caller confirms before it runs."""
    return tool.name.split("_")[0].lower() in CONSEQUENTIAL


def _ask_line(tool: ToolSpec, param: str) -> str:
    return f"Sure. Could you tell me {_describe(tool, param)}?"


def _confirm_line(tool: ToolSpec, args: dict[str, Any]) -> str:
    details = ", ".join(f"{humanize(k)} {slots.spoken(v)}" for k, v in args.items())
    return f"Just to confirm: {humanize(tool.name)}, {details}. Shall I go ahead?"


def _describe(tool: ToolSpec, param: str) -> str:
    desc = str(tool.properties.get(param, {}).get("description", "")).strip().rstrip(".")
    if desc:
        return desc[0].lower() + desc[1:] if not desc[:2].isupper() else desc
    return "your " + humanize(param)


def _smalltalk(intent: str) -> str:
    return {
        "greeting": "Hello! How can I help you today?",
        "thanks": "You're welcome. " + ANYTHING_ELSE,
        "goodbye": "Thank you for calling. Goodbye!",
    }[intent]


def speak_tool_result(output: str) -> tuple[str, bool]:
    """A tool's output (usually JSON) as a sentence to say, and whether the tool worded it itself
    (a `message`-like field: said verbatim, the tool chose every word)."""
    try:
        data = json.loads(output)
    except ValueError:
        return output.strip() or "Done.", False
    if isinstance(data, str):
        return data, True
    if isinstance(data, dict):
        for key in SPEAKABLE_KEYS:
            if isinstance(data.get(key), str):
                return str(data[key]), True
        if data.get("error"):
            return f"Sorry, I couldn't complete that: {str(data['error']).rstrip('.')}.", False
        parts = [f"the {humanize(k)} is {slots.spoken(v)}" for k, v in data.items() if isinstance(v, str | int | float)]
        return ("Here is what I found: " + ", ".join(parts) + "." if parts else "Done."), False
    if isinstance(data, list):
        return (f"I found {len(data)} results." if data else "I found nothing."), False
    return slots.spoken(data), False
