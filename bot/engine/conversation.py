"""The conversation: ordered items as the Realtime API models them, rendered per dialect."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.engine.brain.base import Turn
from bot.realtime.client_events import ProtocolError
from bot.realtime.dialect import Dialect, content_type

ItemType = Literal["message", "function_call", "function_call_output", "mcp_call"]


@dataclass
class Content:
    type: Literal["input_text", "input_audio", "text", "audio"]
    text: str | None = None
    transcript: str | None = None
    audio_ms: float = 0.0  # assistant audio length sent so far
    # (audio end ms, transcript so far) after each spoken sentence, to cut the transcript on truncate
    marks: list[tuple[float, str]] = field(default_factory=list)

    def to_wire(self, dialect: Dialect) -> dict[str, Any]:
        out: dict[str, Any] = {"type": content_type(self.type, dialect)}
        if self.type in ("input_text", "text"):
            out["text"] = self.text or ""
        else:
            out["transcript"] = self.transcript
        return out

    def truncate(self, audio_end_ms: float) -> None:
        """Keep only what was heard: whole sentences before the cut, and a proportional part of the one cut."""
        heard = ""
        prev_end, prev_text = 0.0, ""
        for end, text in self.marks:
            if end <= audio_end_ms:
                heard, prev_end, prev_text = text, end, text
                continue
            sentence = text[len(prev_text) :].split()
            share = (audio_end_ms - prev_end) / max(end - prev_end, 1.0)
            heard = " ".join([prev_text.strip(), *sentence[: int(len(sentence) * share)]]).strip()
            break
        self.transcript = heard
        self.audio_ms = audio_end_ms
        self.marks = [(m, t) for m, t in self.marks if m <= audio_end_ms]


@dataclass
class Item:
    id: str
    type: ItemType
    role: Literal["user", "assistant", "system"] | None = None
    status: Literal["completed", "incomplete", "in_progress"] = "completed"
    content: list[Content] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    server_label: str | None = None  # mcp_call: the server the engine called the tool on
    error: dict[str, Any] | None = None  # mcp_call: why it failed

    def spoken(self, content_index: int) -> Content:
        """The assistant audio part a client may truncate (`ProtocolError` for any other)."""
        if self.role != "assistant" or content_index >= len(self.content):
            raise ProtocolError("invalid_value", "only assistant message audio can be truncated", param="item_id")
        content = self.content[content_index]
        if content.type != "audio":
            raise ProtocolError("invalid_value", "content part is not audio", param="content_index")
        return content

    @property
    def text(self) -> str:
        """What the item says, for the brain: text, or the transcript of audio."""
        return " ".join((c.text if c.text is not None else c.transcript) or "" for c in self.content).strip()

    def to_wire(self, dialect: Dialect) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "realtime.item", "type": self.type, "status": self.status}
        if self.type == "message":
            out["role"] = self.role
            out["content"] = [c.to_wire(dialect) for c in self.content]
        elif self.type == "function_call":
            out.update(call_id=self.call_id, name=self.name, arguments=self.arguments or "")
        elif self.type == "mcp_call":
            del out["status"]  # (its own shape: no status, no call id)
            out.update(server_label=self.server_label, name=self.name, arguments=self.arguments or "",
                       output=self.output, error=self.error)  # fmt: skip
        else:
            out.update(call_id=self.call_id, output=self.output)
        return out


class ConversationError(LookupError):
    """An item id the conversation does not hold."""


class Conversation:
    """Items in order. Bounded: past `max_items` the oldest are forgotten (they no longer inform replies)."""

    def __init__(self, max_items: int = 500) -> None:
        self.max_items = max_items
        self._items: list[Item] = []

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str) -> Item:
        for item in self._items:
            if item.id == item_id:
                return item
        raise ConversationError(f"Conversation item {item_id!r} does not exist")

    def add(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Insert after `previous_item_id` (at the end when None, first when 'root'); return the item before it."""
        if previous_item_id is None:
            index = len(self._items)
        elif previous_item_id == "root":
            index = 0
        else:
            index = self._items.index(self.get(previous_item_id)) + 1
        self._items.insert(index, item)
        if len(self._items) > self.max_items:
            del self._items[0]
            index -= 1
        return self._items[index - 1].id if index > 0 else None

    def delete(self, item_id: str) -> None:
        self._items.remove(self.get(item_id))


def brain_turns(items: Iterable[Item]) -> list[Turn]:
    """The conversation as the brain reads it."""
    turns: list[Turn] = []
    for item in items:
        if item.type == "function_call":
            turns.append(Turn("tool_call", name=item.name, call_id=item.call_id, arguments=item.arguments))
        elif item.type == "function_call_output":
            turns.append(Turn("tool_result", text=item.output or "", call_id=item.call_id))
        elif item.type == "mcp_call":  # (called by the engine: the call and its result in one item)
            turns.append(Turn("tool_call", name=item.name, call_id=item.id, arguments=item.arguments))
            result = item.output if item.error is None else json.dumps({"error": item.error.get("message")})
            turns.append(Turn("tool_result", text=result or "", call_id=item.id))
        elif item.role is not None:
            turns.append(Turn(item.role, text=item.text))
    return turns
