"""One SIP call: thin pjsua2 callbacks that hand events to asyncio, and the call port a session drives
(`CallControl`, see bot/edge/port.py).

Lifetime rule (../shared/notes/pjsua2.md): the Python `Call` is dropped inside its DISCONNECTED
callback; a wrapper freed later, after pjsua reused the slot, hung up an unrelated call. So the
session never holds the pj object: it holds a `CallControl`, which goes inert at disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from bot.edge.port import (
    MAX_EVENTS,
    CallEvent,
    CallMedia,
    CallPort,
    Confirmed,
    Disconnected,
    Dtmf,
    MediaReady,
    RtpStats,
    TransferStatus,
)
from bot.safe_text import MAX_FIELD_CHARS, safe_text
from sip.media import BridgePort, PortPool

log = logging.getLogger(__name__)


class SipCall(pj.Call):  # type: ignore[misc]
    def __init__(self, account: Any, call_id: int, ports: PortPool, on_gone: Callable[[SipCall], None]) -> None:
        super().__init__(account, call_id)
        self.media = CallMedia()
        self.events: asyncio.Queue[CallEvent] = asyncio.Queue(MAX_EVENTS)
        self._ports = ports
        self._port: BridgePort | None = None
        self.audio_index: int | None = None  # the call's audio stream, once media is up
        self._on_gone = on_gone
        self.call_id = self.remote_uri = self.local_uri = ""
        if call_id != pj.PJSUA_INVALID_ID:  # inbound: the dialog exists already
            self.learn_identity()

    def learn_identity(self) -> None:
        """Who and which call, as text any encoder takes: a Call-ID or URI that is not UTF-8 reaches
        Python surrogate-escaped, and as a Redis key it stopped a worker (bench/sip_torture.py)."""
        info = self.getInfo()
        self.call_id = safe_text(info.callIdString, MAX_FIELD_CHARS)
        self.remote_uri = safe_text(info.remoteUri, MAX_FIELD_CHARS)
        self.local_uri = safe_text(info.localUri, MAX_FIELD_CHARS)

    def _emit(self, event: CallEvent) -> None:
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("call %s: control queue full, dropped %s", self.call_id, event)

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self._emit(Confirmed())
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if self._port is not None:
                self._ports.release(self._port)
                self._port = None
            self._emit(Disconnected(info.lastStatusCode, info.lastReason))
            self._on_gone(self)  # drops the last reference: freed when this callback returns

    def onCallMediaState(self, prm: Any) -> None:
        if self._port is not None:
            return
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self.getAudioMedia(media.index)
                self.audio_index = media.index
                self._port = self._ports.acquire(self.media.inbound, self.media.playout)
                audio.startTransmit(self._port)
                self._port.startTransmit(audio)
                self._emit(MediaReady())
                return

    def onDtmfDigit(self, prm: Any) -> None:
        method = "sip_info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc4733"
        self._emit(Dtmf(str(prm.digit), method))

    def onCallTransferStatus(self, prm: Any) -> None:
        self._emit(TransferStatus(int(prm.statusCode), bool(prm.finalNotify)))

    # --- control, called on the loop thread -------------------------------------------------------
    def answer_with(self, code: int, reason: str = "", headers: dict[str, str] | None = None) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        if reason:
            prm.reason = reason
        _add_headers(prm, headers or {})
        self.answer(prm)

    def end(self, code: int = 200) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        self.hangup(prm)

    def refer(self, target: str, headers: dict[str, str]) -> None:
        prm = pj.CallOpParam()
        _add_headers(prm, headers)
        self.xfer(target, prm)

    def send_dtmf(self, digits: str) -> None:
        self.dialDtmf(digits)

    def dial(self, uri: str, headers: dict[str, str] | None = None) -> None:
        prm = pj.CallOpParam(True)
        _add_headers(prm, headers or {})
        self.makeCall(uri, prm)
        self.learn_identity()

    def bridge_with(self, other: SipCall) -> None:
        """Each call's audio to the other's on the conference bridge; the bot's ports leave both."""
        assert self.audio_index is not None and other.audio_index is not None
        mine, theirs = self.getAudioMedia(self.audio_index), other.getAudioMedia(other.audio_index)
        for call, audio in ((self, mine), (other, theirs)):
            if call._port is not None:
                audio.stopTransmit(call._port)
                call._port.stopTransmit(audio)
        mine.startTransmit(theirs)
        theirs.startTransmit(mine)


class CallControl:
    """The `CallPort` of a SIP call. Every method is a no-op once the call is gone."""

    def __init__(self, call: SipCall) -> None:
        self._call: SipCall | None = call
        self.call_id = call.call_id
        self.remote_uri = call.remote_uri
        self.local_uri = call.local_uri
        self.media = call.media
        self.events = call.events

    def gone(self) -> None:
        self._call = None

    @property
    def alive(self) -> bool:
        return self._call is not None

    def _do(self, action: Callable[[SipCall], None], what: str) -> bool:
        call = self._call
        if call is None:
            return False
        try:
            action(call)
            return True
        except pj.Error as exc:
            log.warning("call %s: %s failed: %s", self.call_id, what, exc.info())
            return False

    def answer(self, code: int, reason: str = "", headers: dict[str, str] | None = None) -> bool:
        return self._do(lambda c: c.answer_with(code, reason, headers), f"answer {code}")

    def hangup(self, code: int = 200) -> bool:
        return self._do(lambda c: c.end(code), "hangup")

    def transfer(self, target: str, headers: dict[str, str]) -> bool:
        return self._do(lambda c: c.refer(target, headers), "transfer")

    def send_dtmf(self, digits: str) -> bool:
        return self._do(lambda c: c.send_dtmf(digits), "dtmf")

    def bridge(self, other: CallPort) -> bool:
        theirs = other._call if isinstance(other, CallControl) else None
        if theirs is None or theirs.audio_index is None or self._call is None or self._call.audio_index is None:
            log.warning("call %s: no media to bridge to %s", self.call_id, other.call_id)
            return False
        return self._do(lambda c: c.bridge_with(theirs), f"bridge to {other.call_id}")

    def rtp_received(self) -> int | None:
        """RTP packets the caller's stream has brought so far (pjmedia's RTCP receive counter: the
        media clock keeps delivering concealment frames when RTP stops, so frames cannot tell)."""
        call = self._call
        if call is None or call.audio_index is None:
            return None
        try:
            return int(call.getStreamStat(call.audio_index).rtcp.rxStat.pkt)
        except pj.Error:
            return None

    def rtp_stats(self) -> RtpStats | None:
        call = self._call
        if call is None or call.audio_index is None:
            return None
        try:
            rx = call.getStreamStat(call.audio_index).rtcp.rxStat
            return RtpStats(int(rx.pkt), int(rx.loss), int(rx.discard))
        except pj.Error:
            return None


def _add_headers(prm: Any, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        header = pj.SipHeader()
        header.hName, header.hValue = name, value
        prm.txOption.headers.append(header)
