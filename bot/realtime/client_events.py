"""Client → server events, typed, with one parse function whose only error is `ProtocolError`."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_serializer, field_validator

from bot.errors import VoicebotError


class ProtocolError(VoicebotError, ValueError):
    """A client event the engine cannot take. Becomes an ``error`` event; the session goes on."""

    def __init__(self, code: str, message: str, *, param: str | None = None, event_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    event_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The event as JSON-ready data; `parse_client_event` of it gives this event back."""
        return self.model_dump(mode="json", exclude_none=True)


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: dict[str, Any]


class InputAudioBufferAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: bytes

    @field_validator("audio", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> bytes:
        if not isinstance(value, str):
            raise ValueError("audio must be a base64 string")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"audio is not valid base64: {exc}") from None

    @field_serializer("audio")
    def _encode(self, audio: bytes) -> str:
        return base64.b64encode(audio).decode()

    def to_wire(self) -> dict[str, Any]:
        """As the generic one (the parse round trip is tested), in a third of its time: every call
        sends 25 of these a second."""
        wire: dict[str, Any] = {"type": self.type, "audio": self._encode(self.audio)}
        if self.event_id is not None:
            wire["event_id"] = self.event_id
        return wire

    @classmethod
    def of(cls, audio: bytes) -> InputAudioBufferAppend:
        """From raw audio (the validator takes base64 text, as it comes off the wire)."""
        return cls.model_construct(type="input_audio_buffer.append", audio=audio)


class InputAudioBufferCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["input_text", "input_audio", "text", "output_text", "audio", "output_audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class MessageItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["message"]
    id: str | None = None
    role: Literal["user", "assistant", "system"]
    content: list[ContentPart]


class FunctionCallItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["function_call"]
    id: str | None = None
    call_id: str
    name: str
    arguments: str = ""


class FunctionCallOutputItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: str
    output: str


ItemParam = Annotated[MessageItem | FunctionCallItem | FunctionCallOutputItem, Field(discriminator="type")]


class ConversationItemCreate(_Event):
    type: Literal["conversation.item.create"]
    previous_item_id: str | None = None
    item: ItemParam


class ConversationItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: int = Field(ge=0)
    audio_end_ms: int = Field(ge=0)


class ConversationItemDelete(_Event):
    type: Literal["conversation.item.delete"]
    item_id: str


class ConversationItemRetrieve(_Event):
    type: Literal["conversation.item.retrieve"]
    item_id: str


# Key-value pairs a client attaches to a session or a response (both APIs): 16 at most, keys up to 64
# characters, values up to 512; echoed back, and logged with the session for tracing.
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]], Field(max_length=16)
]
_METADATA: TypeAdapter[dict[str, str]] = TypeAdapter(Metadata)


def metadata_of(value: Any, param: str) -> dict[str, str] | None:
    """A session's `metadata` checked as the API checks it; `ProtocolError` naming what is wrong."""
    if value is None:
        return None
    try:
        return _METADATA.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ProtocolError("invalid_value", f"{param}: {first['msg']}", param=param) from None


class ResponseParams(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    instructions: str | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    output_modalities: list[Literal["text", "audio"]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    voice: str | None = None
    conversation: str | None = None
    metadata: Metadata | None = None
    interim_response: dict[str, Any] | None = None  # Voice Live (bot/realtime/interim_response.py)
    parallel_tool_calls: bool | None = None  # GA: False, one tool call in the response at most
    max_output_tokens: int | Literal["inf"] | None = None  # GA (beta: max_response_output_tokens)
    max_response_output_tokens: int | Literal["inf"] | None = None


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: str | None = None


ClientEvent = (
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemTruncate
    | ConversationItemDelete
    | ConversationItemRetrieve
    | ResponseCreate
    | ResponseCancel
)
_ADAPTER: TypeAdapter[ClientEvent] = TypeAdapter(Annotated[ClientEvent, Field(discriminator="type")])
CLIENT_EVENT_TYPES = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
)

_CODE_BY_PYDANTIC_TYPE = {
    "missing": "missing_required_parameter",
    "literal_error": "invalid_value",
    "union_tag_invalid": "invalid_value",
    "greater_than_equal": "invalid_value",
    "value_error": "invalid_value",
}


MAX_DEPTH = 32  # objects and arrays inside one another; a tool schema needs a handful


def _depth(data: object) -> int:
    """How deeply `data` nests (iterative: a hostile event cannot exhaust the stack here)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _without_lone_surrogates(node: Any) -> Any:
    """JSON may escape a lone surrogate (\\ud800), which no UTF-8 encoder, tokenizer or log takes:
    each becomes U+FFFD, as a decoder does with invalid bytes. (Called on events of bounded depth.)"""
    if isinstance(node, str):
        return _SURROGATE.sub("\ufffd", node)
    if isinstance(node, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_lone_surrogates(v) for v in node]
    return node


_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_client_event(raw: str | bytes, *, max_bytes: int) -> ClientEvent:
    """Parse one WebSocket text message. Raises `ProtocolError` naming the problem, nothing else."""
    if len(raw) > max_bytes:
        raise ProtocolError("message_too_large", f"event of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"event is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("invalid_json", f"event nests deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_json", "event must be a JSON object")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if kind not in CLIENT_EVENT_TYPES:
        shown = repr(kind) if len(repr(kind)) <= 64 else repr(kind)[:60] + "...'"
        raise ProtocolError(
            "invalid_value" if kind is not None else "missing_required_parameter",
            f"Invalid value: {shown}. Supported values are: {', '.join(CLIENT_EVENT_TYPES)}.",
            param="type",
            event_id=event_id,
        )
    escaped = ("\\u" in raw) if isinstance(raw, str) else (b"\\u" in raw)  # (audio never has escapes: fast path)
    if (escaped or kind != "input_audio_buffer.append") and _depth(data) > MAX_DEPTH:
        raise ProtocolError("invalid_json", f"event nests deeper than {MAX_DEPTH} levels", event_id=event_id)
    if escaped:
        data = _without_lone_surrogates(data)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"][1:]]  # drop the union tag
        param = ".".join(loc) or None
        code = _CODE_BY_PYDANTIC_TYPE.get(first["type"], "invalid_type")
        message = f"{kind}: {param or 'event'}: {first['msg']}"
        raise ProtocolError(code, message, param=param, event_id=event_id) from None
