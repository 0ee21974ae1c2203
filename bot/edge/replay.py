"""The conversation as the edge saw it, to replay into a new engine session when the old one was
lost mid-call: the caller's and the bot's words, tool calls and their outputs, in order.

Bounded: the newest `MAX_ITEMS` are kept (older ones are dropped; a long call replays its recent
part). What the bot said is kept as text even when the caller cut it short: the transcript is
what the engine would have had."""

from __future__ import annotations

from collections import deque
from typing import Any

from bot.realtime.client_events import FunctionCallItem, FunctionCallOutputItem, ItemParam, MessageItem
from bot.realtime.dialect import Dialect

MAX_ITEMS = 100


class Replay:
    def __init__(self, max_items: int = MAX_ITEMS) -> None:
        self._items: deque[tuple[str, dict[str, Any]]] = deque(maxlen=max_items)

    def __len__(self) -> int:
        return len(self._items)

    def caller(self, text: str) -> None:
        self._items.append(("user", {"text": text}))

    def bot(self, text: str) -> None:
        self._items.append(("assistant", {"text": text}))

    def tool_call(self, call_id: str, name: str, arguments: str) -> None:
        self._items.append(("function_call", {"call_id": call_id, "name": name, "arguments": arguments}))

    def tool_output(self, call_id: str, output: str) -> None:
        self._items.append(("function_call_output", {"call_id": call_id, "output": output}))

    @property
    def unanswered(self) -> bool:
        """The caller (or a tool) had the last word: the new session owes a reply."""
        return bool(self._items) and self._items[-1][0] in ("user", "function_call_output")

    def items(self, dialect: Dialect) -> list[ItemParam]:
        """As conversation items of `dialect` (the bot's text part is `text` in beta, `output_text` in GA).
        A tool call whose output never came is left out: no engine accepts half a pair."""
        answered = {fields["call_id"] for kind, fields in self._items if kind == "function_call_output"}
        called = {fields["call_id"] for kind, fields in self._items if kind == "function_call"}
        out: list[ItemParam] = []
        for kind, fields in self._items:
            if kind == "user":
                out.append(MessageItem.model_validate({"type": "message", "role": "user",
                                                       "content": [{"type": "input_text", "text": fields["text"]}]}))  # fmt: skip
            elif kind == "assistant":
                part = "text" if dialect is Dialect.BETA else "output_text"
                out.append(MessageItem.model_validate({"type": "message", "role": "assistant",
                                                       "content": [{"type": part, "text": fields["text"]}]}))  # fmt: skip
            elif kind == "function_call" and fields["call_id"] in answered:
                out.append(FunctionCallItem(type="function_call", **fields))
            elif kind == "function_call_output" and fields["call_id"] in called:
                out.append(FunctionCallOutputItem(type="function_call_output", **fields))
        return out
