"""What a phone call offers the call session, whatever carries it: the call port.

Events come in on `events` (media up, the answer ACKed, keys pressed, a transfer's progress, the call gone); frames
move through `media` (the caller's, the bot's); the verbs answer, hang up, transfer (REFER), send
keys, and bridge the call's audio straight to another call's (the bot leaves the media). A session
that may hand its caller to an agent also gets a `LineDialer`: another call from the same worker.
`sip/call.py` adapts a pjsua2 call to it; the unit tests use an in-memory one.
Every verb returns False, and does nothing, once the call is gone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from bot.edge.buffers import InboundBuffer, PlayoutBuffer

MAX_EVENTS = 256  # control events per call; a session consumes them far faster than SIP produces them


@dataclass(frozen=True)
class RtpStats:
    """The caller's RTP stream so far: packets received, lost (sequence gaps) and discarded (late,
    duplicate or out of order, dropped by the jitter buffer)."""

    received: int
    lost: int
    discarded: int


@dataclass(frozen=True)
class MediaReady:
    pass


@dataclass(frozen=True)
class Confirmed:
    """The caller's ACK came: the answer was received, the call is set up."""


@dataclass(frozen=True)
class Dtmf:
    digit: str
    method: str = "rfc4733"


@dataclass(frozen=True)
class TransferStatus:
    code: int
    final: bool


@dataclass(frozen=True)
class Disconnected:
    code: int
    reason: str


CallEvent = MediaReady | Confirmed | Dtmf | TransferStatus | Disconnected


@dataclass
class CallMedia:
    inbound: InboundBuffer = field(default_factory=InboundBuffer)
    playout: PlayoutBuffer = field(default_factory=PlayoutBuffer)


class CallPort(Protocol):
    call_id: str
    remote_uri: str
    local_uri: str
    media: CallMedia
    events: asyncio.Queue[CallEvent]

    @property
    def alive(self) -> bool: ...
    def answer(self, code: int, reason: str = "", headers: dict[str, str] | None = None) -> bool: ...
    def hangup(self, code: int = 200) -> bool: ...
    def transfer(self, target: str, headers: dict[str, str]) -> bool: ...
    def send_dtmf(self, digits: str) -> bool: ...
    def rtp_received(self) -> int | None: ...  # RTP packets from the caller so far (None: no stream)
    def rtp_stats(self) -> RtpStats | None: ...  # the caller's stream as pjmedia counts it (None: no stream)
    def bridge(self, other: CallPort) -> bool: ...  # the two calls hear each other, no longer the bot


class LineDialer(Protocol):
    def dial(self, uri: str, headers: dict[str, str]) -> CallPort | None: ...  # None: no line, or refused at once
