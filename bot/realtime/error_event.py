"""The `error` a client gets for an event the server cannot take: bounded, whatever it sent.

A hostile event once came back whole inside its error (a 1 MB `type` in a 1 MB error); now the
message, param and event_id are cut to a size in JSON bytes (escapes count: an emoji is 12 bytes
there), so no error event passes ~2 KB.
"""

from __future__ import annotations

import json
from typing import Any

from bot.realtime.client_events import ProtocolError
from bot.safe_text import safe_text

MAX_MESSAGE_BYTES = 1200  # the message as JSON (the client's own text in it is cut short)
MAX_FIELD_BYTES = 300  # its param and event_id


def bounded(text: str, max_json_bytes: int) -> str:
    """`text` cut so that it takes at most `max_json_bytes` as a JSON string."""
    text = safe_text(text, max_json_bytes)
    while len(json.dumps(text)) > max_json_bytes:
        text = safe_text(text, len(text) * 3 // 4)
    return text


def error_body(exc: ProtocolError, kind: str = "invalid_request_error") -> dict[str, Any]:
    """The `error` object of the event."""
    return {"type": kind, "code": exc.code, "message": bounded(exc.message, MAX_MESSAGE_BYTES),
            "param": None if exc.param is None else bounded(exc.param, MAX_FIELD_BYTES),
            "event_id": None if exc.event_id is None else bounded(exc.event_id, MAX_FIELD_BYTES)}  # fmt: skip


def transcription_error(failure: str) -> dict[str, Any]:
    """The `error` of input_audio_transcription.failed: the recogniser (a speech service) failed."""
    return {"type": "transcription_error", "code": "speech_service_error", "message": bounded(failure, MAX_MESSAGE_BYTES),
            "param": None}  # fmt: skip
