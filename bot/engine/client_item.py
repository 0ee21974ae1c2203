"""A client's conversation.item.create as the engine's conversation item: messages (user text or
audio, assistant text), function calls and their outputs. User audio in the item is decoded here,
before anything is added, so a bad one is refused whole."""

from __future__ import annotations

import base64

from bot.audio.formats import AudioFormat, Decoder
from bot.audio.frames import ENGINE_RATE
from bot.engine.conversation import Content, Item
from bot.realtime.client_events import FunctionCallItem, FunctionCallOutputItem, ItemParam, ProtocolError


def client_item(p: ItemParam, item_id: str, input_format: AudioFormat) -> tuple[Item, bytes | None]:
    """The item, and its user audio as 16 kHz pcm16 (None without audio)."""
    if isinstance(p, FunctionCallOutputItem):
        return Item(item_id, "function_call_output", call_id=p.call_id, output=p.output), None
    if isinstance(p, FunctionCallItem):
        return Item(item_id, "function_call", call_id=p.call_id, name=p.name, arguments=p.arguments), None
    pcm = None
    audio = next((part.audio for part in p.content if part.type == "input_audio"), None)
    if audio:
        try:
            wire = base64.b64decode(audio, validate=True)
        except ValueError:
            raise ProtocolError(
                "invalid_value", "input_audio content is not valid base64", param="item.content"
            ) from None
        pcm = Decoder(input_format, ENGINE_RATE).process(wire)
    content = []
    for part in p.content:
        kind = {"output_text": "text", "output_audio": "audio"}.get(part.type, part.type)
        content.append(Content(kind, text=part.text, transcript=part.transcript))  # type: ignore[arg-type]
    return Item(item_id, "message", role=p.role, content=content), pcm
