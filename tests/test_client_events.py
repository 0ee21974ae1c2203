from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from bot.realtime.client_events import (
    CLIENT_EVENT_TYPES,
    ClientEvent,
    ContentPart,
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    MessageItem,
    ProtocolError,
    ResponseCancel,
    ResponseCreate,
    ResponseParams,
    SessionUpdate,
    parse_client_event,
)

LIMIT = 1 << 20


def test_append_decodes_audio() -> None:
    event = parse_client_event('{"type": "input_audio_buffer.append", "audio": "AAEC"}', max_bytes=LIMIT)
    assert isinstance(event, InputAudioBufferAppend) and event.audio == b"\x00\x01\x02"


def test_function_call_output_item() -> None:
    raw = json.dumps({"type": "conversation.item.create", "event_id": "e",
                      "item": {"type": "function_call_output", "call_id": "call_1", "output": "{}"}})  # fmt: skip
    event = parse_client_event(raw, max_bytes=LIMIT)
    assert isinstance(event, ConversationItemCreate) and isinstance(event.item, FunctionCallOutputItem)
    assert event.event_id == "e"


def test_error_names_param_and_event_id() -> None:
    raw = '{"type": "conversation.item.truncate", "event_id": "x1", "item_id": "i", "content_index": -1, "audio_end_ms": 3}'
    try:
        parse_client_event(raw, max_bytes=LIMIT)
    except ProtocolError as exc:
        assert (exc.code, exc.param, exc.event_id) == ("invalid_value", "content_index", "x1")
    else:
        raise AssertionError("negative content_index accepted")


def test_too_large_is_refused_before_parsing() -> None:
    try:
        parse_client_event("x" * 2000, max_bytes=1000)
    except ProtocolError as exc:
        assert exc.code == "message_too_large"
    else:
        raise AssertionError("oversize accepted")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_only_raises_protocol_error(raw: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_client_event(raw, max_bytes=LIMIT)


@given(st.sampled_from(CLIENT_EVENT_TYPES), st.dictionaries(st.text(max_size=15), json_values, max_size=5))
def test_arbitrary_fields_on_real_types_only_raise_protocol_error(kind: str, fields: dict[str, object]) -> None:
    try:
        event = parse_client_event(json.dumps({**fields, "type": kind}), max_bytes=LIMIT)
    except ProtocolError as exc:
        assert exc.code and exc.message
    else:
        assert event.type == kind


_ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=24)
_words = st.text(max_size=40)
_event_ids = st.none() | _ids
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=8)  # fmt: skip
_items = st.one_of(
    st.builds(lambda text, role: MessageItem(type="message", role=role, content=[ContentPart(type="input_text", text=text)]),
              _words, st.sampled_from(["user", "system"])),
    st.builds(lambda call_id, out: FunctionCallOutputItem(type="function_call_output", call_id=call_id, output=out), _ids, _words),
    st.builds(lambda call_id, name, args: FunctionCallItem(type="function_call", call_id=call_id, name=name, arguments=args),
              _ids, _ids, _words),
)  # fmt: skip
_client_events = st.one_of(
    st.builds(lambda s, e: SessionUpdate(type="session.update", session=s, event_id=e),
              st.dictionaries(st.text(max_size=8), _json, max_size=4), _event_ids),
    st.builds(lambda audio: InputAudioBufferAppend.of(audio), st.binary(max_size=400)),
    st.builds(lambda e: InputAudioBufferCommit(type="input_audio_buffer.commit", event_id=e), _event_ids),
    st.builds(lambda e: InputAudioBufferClear(type="input_audio_buffer.clear", event_id=e), _event_ids),
    st.builds(lambda item, prev: ConversationItemCreate(type="conversation.item.create", item=item, previous_item_id=prev),
              _items, st.none() | _ids),
    st.builds(lambda i, c, ms: ConversationItemTruncate(type="conversation.item.truncate", item_id=i, content_index=c,
                                                        audio_end_ms=ms), _ids, st.integers(0, 3), st.integers(0, 10**7)),
    st.builds(lambda i: ConversationItemDelete(type="conversation.item.delete", item_id=i), _ids),
    st.builds(lambda i: ConversationItemRetrieve(type="conversation.item.retrieve", item_id=i), _ids),
    st.builds(lambda text: ResponseCreate(type="response.create", response=ResponseParams(instructions=text) if text else None),
              st.none() | _words),
    st.builds(lambda r: ResponseCancel(type="response.cancel", response_id=r), st.none() | _ids),
)  # fmt: skip


@given(_client_events)
def test_every_client_event_parses_back_from_its_wire_form(event: ClientEvent) -> None:
    """parse ∘ to_wire is the identity: what the edge writes is what the engine reads."""
    assert parse_client_event(json.dumps(event.to_wire()), max_bytes=LIMIT) == event
