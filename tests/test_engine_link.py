"""The Realtime connection's writing: control events jump the audio queue; both queues are bounded."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.edge.engine_link import AUDIO_BACKLOG, CONTROL_BACKLOG, ENGINES, EngineBackedUp, RealtimeConnection


class SlowSocket:
    """A transport whose every write takes a while (a congested link); records what was written."""

    def __init__(self, expect: int = 0) -> None:
        self.sent: list[dict[str, object]] = []
        self.writing = asyncio.Event()
        self.all_sent = asyncio.Event()  # `expect` events are out
        self.expect = expect

    async def send_str(self, text: str) -> None:
        self.writing.set()
        await asyncio.sleep(0.01)
        self.sent.append(json.loads(text))
        if len(self.sent) == self.expect:
            self.all_sent.set()

    async def receive(self) -> str | None:
        return None

    async def close(self) -> None:
        pass


async def test_cancel_and_truncate_go_out_before_queued_audio() -> None:
    socket = SlowSocket(expect=7)
    conn = RealtimeConnection(socket, ENGINES["local"])
    for _ in range(5):
        conn.append_audio(b"\xff" * 320)
    pump = asyncio.ensure_future(conn.pump())
    await socket.writing.wait()  # the first append is on the wire
    conn.cancel()
    conn.truncate("item_1", 1240)
    await socket.all_sent.wait()
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    kinds = [e["type"] for e in socket.sent]
    assert kinds == [
        "input_audio_buffer.append",
        "response.cancel",
        "conversation.item.truncate",
        *["input_audio_buffer.append"] * 4,
    ]
    assert socket.sent[2] == {
        "type": "conversation.item.truncate",
        "item_id": "item_1",
        "content_index": 0,
        "audio_end_ms": 1240,
    }


async def test_a_stalled_socket_keeps_the_newest_audio_and_fails_on_unread_control() -> None:
    conn = RealtimeConnection(SlowSocket(), ENGINES["local"])  # nobody pumps: the socket is stalled
    for _ in range(AUDIO_BACKLOG + 10):
        conn.append_audio(b"\xff" * 320)
    assert conn.audio_dropped == 10  # the oldest 400 ms went; the newest 2 s wait
    for _ in range(CONTROL_BACKLOG):
        conn.create_response()
    with pytest.raises(EngineBackedUp):
        conn.create_response()  # control is never dropped: the call fails instead
