"""The media port that moves 20 ms frames between a call's audio and the buffers, and their pool.

Its callbacks run on pjmedia's clock thread: they only copy a frame into or out of a buffer.
Ports are never freed while the endpoint lives (freeing a port still on the conference bridge
crashes pjmedia), so a pool hands them out and takes them back.
"""

from __future__ import annotations

import logging
from typing import Any

import pjsua2 as pj

from bot.audio.frames import FRAME_MS, LINE_FRAME_BYTES, LINE_RATE
from bot.edge.buffers import InboundBuffer, PlayoutBuffer
from sip import frames

log = logging.getLogger(__name__)
_SILENCE = bytes(LINE_FRAME_BYTES)


class BridgePort(pj.AudioMediaPort):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        super().__init__()
        # Before createPort: from then on the clock thread may call back at any tick (a callback that
        # met a missing attribute raised inside pjmedia's thread and crashed the process, SIGSEGV).
        self.inbound: InboundBuffer | None = None
        self.playout: PlayoutBuffer | None = None
        self._played: bytes | None = None  # what went out on this tick: the echo reference
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, LINE_RATE, 1, FRAME_MS * 1000, 16)
        self.createPort(name, fmt)

    # getattr: while Python frees a port its attributes go before the C++ destructor takes it off the
    # bridge; a tick in between must not raise inside pjmedia's thread (the endpoint stops the clock
    # before it frees the ports; this is the second guard).
    def onFrameReceived(self, frame: Any) -> None:  # clock thread: caller audio
        inbound = getattr(self, "inbound", None)
        if inbound is not None and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            inbound.push(frames.read(frame.buf, frame.size), getattr(self, "_played", None))

    def onFrameRequested(self, frame: Any) -> None:  # clock thread: bot audio
        playout = getattr(self, "playout", None)
        data = playout.pop() if playout is not None else None
        self._played = data
        if data is None:
            data = _SILENCE
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frames.write(frame.buf, data)
        frame.size = len(data)


class PortPool:
    """Ports reused across calls; grows up to the endpoint's call capacity."""

    def __init__(self) -> None:
        self._free: list[BridgePort] = []
        self._all: list[BridgePort] = []

    def acquire(self, inbound: InboundBuffer, playout: PlayoutBuffer) -> BridgePort:
        port = self._free.pop() if self._free else self._new()
        port.inbound, port.playout = inbound, playout
        return port

    def release(self, port: BridgePort) -> None:
        port.inbound = port.playout = None
        self._free.append(port)

    def _new(self) -> BridgePort:
        port = BridgePort(f"bridge{len(self._all)}")
        self._all.append(port)
        return port

    def destroy(self) -> None:
        """Before libDestroy: every pjsua2 object must be gone first."""
        self._free.clear()
        self._all.clear()
