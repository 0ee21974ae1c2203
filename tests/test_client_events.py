from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from bot.realtime.client_events import (
    CLIENT_EVENT_TYPES,
    ConversationItemCreate,
    FunctionCallOutputItem,
    InputAudioBufferAppend,
    ProtocolError,
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
