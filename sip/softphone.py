"""`voicebot call`: a pjsua2 softphone (UAC) that calls the bot, speaks, records, and reports.

It waits for the bot's greeting, then says each utterance after the bot has finished speaking,
records everything the bot sends (over real RTP, G.711), transcribes the bot's turns, and measures
from the end of each utterance to the bot's first audio.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import pjsua2 as pj

from bot.audio.level import rms
from sip.account import InboundAccount
from sip.call import CallControl, Disconnected, MediaReady, SipCall
from sip.endpoint import EndpointConfig, SipEndpoint
from sip.playout import FRAME_MS, RATE

log = logging.getLogger(__name__)
SPEECH_RMS = 150  # a bot frame above this level is speech (line silence decodes to ~0)


@dataclass
class Turn:
    said: str
    latency_ms: float | None = None  # end of our utterance → first bot audio
    bot_pcm: bytes = b""
    bot_text: str = ""


@dataclass
class CallReport:
    connected: bool = False
    greeting_pcm: bytes = b""
    greeting_text: str = ""
    turns: list[Turn] = field(default_factory=list)
    recording: bytes = b""
    disconnect_code: int | None = None

    @property
    def bot_answered(self) -> bool:
        return self.connected and any(
            rms(self.recording[i : i + 320]) > SPEECH_RMS for i in range(0, len(self.recording), 320)
        )


class Softphone:
    def __init__(self, port: int = 0, caller: str = "softphone") -> None:
        """`caller`: the user part of our From URI, e.g. a phone number as a trunk would present it."""
        self.endpoint = SipEndpoint(EndpointConfig(host="127.0.0.1", port=port, max_calls=1, tcp=False))
        self.account = InboundAccount(lambda _id: None)
        self.account.open(f"sip:{caller}@127.0.0.1", ("127.0.0.1", 40000 + os.getpid() % 20000, 20))
        self._recorded = bytearray()
        self._control: CallControl | None = None
        self._call: SipCall | None = None

    def _gone(self, call: SipCall) -> None:
        if self._control is not None:
            self._control.gone()
        self._call = None

    async def call(self, uri: str, utterances: list[tuple[str, bytes]], *, max_turn_s: float = 20.0) -> CallReport:
        """`utterances`: (text, 8 kHz pcm16). Returns what happened; never raises for call failures."""
        self.endpoint.start()
        self.endpoint.active_calls = 1
        report = CallReport()
        call = SipCall(self.account, pj.PJSUA_INVALID_ID, self.endpoint.ports, self._gone)
        self._call = call
        try:
            call.dial(uri)
        except pj.Error as exc:
            log.error("call failed: %s", exc.info())
            return report
        control = self._control = CallControl(call)
        try:
            if not await self._until_media(control):
                return report
            report.connected = True
            report.greeting_pcm = await self._bot_turn(control, max_turn_s)
            for text, pcm in utterances:
                turn = Turn(text)
                control.media.playout.push("caller", pcm)
                control.media.playout.finish("caller")
                # The playout drains on pjmedia's clock thread, which must not touch asyncio objects: poll.
                while control.media.playout.busy and control.alive:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                spoke_at = time.monotonic()
                turn.bot_pcm = await self._bot_turn(control, max_turn_s, since=spoke_at, turn=turn)
                report.turns.append(turn)
        finally:
            control.hangup()
            for _ in range(100):
                if not control.alive:
                    break
                await asyncio.sleep(0.02)
            report.recording = bytes(self._recorded)
        return report

    async def _until_media(self, control: CallControl, timeout_s: float = 10.0) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    event = await control.events.get()
                    if isinstance(event, MediaReady):
                        return True
                    if isinstance(event, Disconnected):
                        return False
        except TimeoutError:
            return False

    async def _bot_turn(self, control: CallControl, max_s: float, since: float | None = None,
                        turn: Turn | None = None, end_silence_s: float = 1.2) -> bytes:  # fmt: skip
        """Record the bot until it has spoken and then stayed silent for `end_silence_s`."""
        heard = bytearray()
        spoken = False
        quiet_since = time.monotonic()
        deadline = time.monotonic() + max_s
        while control.alive and time.monotonic() < deadline:
            for frame in control.media.inbound.drain():
                self._recorded += frame
                now = time.monotonic()
                if rms(frame) > SPEECH_RMS:
                    if not spoken and turn is not None and since is not None:
                        # the frame began playing 20 ms before it reached us
                        turn.latency_ms = (now - since) * 1000 - FRAME_MS
                    spoken = True
                    quiet_since = now
                if spoken:
                    heard += frame
            if spoken and time.monotonic() - quiet_since >= end_silence_s:
                break
            await asyncio.sleep(0.01)
        return bytes(heard)

    async def close(self) -> None:
        await self.endpoint.hang_up_all()
        self._control = None
        self._call = None
        self.account.shutdown()
        del self.account
        self.endpoint.destroy()


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
