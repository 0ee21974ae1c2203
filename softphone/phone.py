"""`voicebot call` / `voicebot answer`: a pjsua2 softphone that calls the bot (UAC) or takes a call
the bot places (UAS: a callee, an agent a call is handed to), speaks, records, and reports.

It waits for the far end's first turn (the bot's greeting; on a call it takes, after its own
optional "Hello?"), then says each utterance after the far end has finished speaking, records
everything it hears (over real RTP, G.711), and measures from the end of each utterance to the far
end's first audio. Turns are transcribed by the command (softphone/cli.py).
"""

from __future__ import annotations

import asyncio
import audioop
import logging
import os
import re
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pjsua2 as pj

from bot.audio.frames import FRAME_MS, LINE_RATE
from bot.audio.frames import LINE_FRAME_BYTES as FRAME_BYTES
from bot.audio.level import rms
from bot.edge.buffers import InboundBuffer, PlayoutBuffer
from bot.edge.port import CallMedia, Dtmf
from bot.edge.ringing import until_media
from sip.account import InboundAccount
from sip.call import CallControl, SipCall
from sip.endpoint import EndpointConfig, SipEndpoint

log = logging.getLogger(__name__)
MEDIA_TIMEOUT_S = 10.0  # a call whose audio is not up this soon failed
SPEECH_RMS = 150  # a bot frame above this level is speech (line silence decodes to ~0)


class LineEcho:
    """What a real line does to the bot's voice: sends it back delayed and attenuated (a 2-wire
    hybrid, a speakerphone), under steady line noise. Runs on the softphone's clock thread."""

    def __init__(self, delay_ms: int = 60, gain_db: float = -12.0, noise_dbfs: float | None = -50.0,
                 seed: int = 0) -> None:  # fmt: skip
        self.delay_frames = max(0, delay_ms // FRAME_MS)
        self.gain = 10 ** (gain_db / 20)
        self.noise_rms = 32768 * 10 ** (noise_dbfs / 20) if noise_dbfs is not None else 0.0
        self._heard: deque[bytes] = deque(maxlen=self.delay_frames + 1)
        self._rng = np.random.default_rng(seed)

    def heard(self, frame: bytes) -> None:
        self._heard.append(frame)

    def mix(self, said: bytes | None) -> bytes:
        out = said if said is not None else bytes(FRAME_BYTES)
        if len(self._heard) > self.delay_frames:
            echo = self._heard[0]
            if len(echo) == len(out):
                out = audioop.add(out, audioop.mul(echo, 2, self.gain), 2)
        if self.noise_rms:
            noise = self._rng.normal(0.0, self.noise_rms, len(out) // 2).clip(-32768, 32767).astype(np.int16)
            out = audioop.add(out, noise.tobytes(), 2)
        return out


class _EchoingInbound(InboundBuffer):
    def __init__(self, line: LineEcho) -> None:
        super().__init__()
        self.line = line

    def push(self, frame: bytes, played: bytes | None = None) -> None:
        super().push(frame, played)
        self.line.heard(frame)


class _EchoingPlayout(PlayoutBuffer):
    def __init__(self, line: LineEcho) -> None:
        super().__init__()
        self.line = line

    def pop(self) -> bytes | None:
        return self.line.mix(super().pop())


@dataclass(frozen=True)
class Utterance:
    text: str
    pcm: bytes  # 8 kHz pcm16
    over_bot_ms: int | None = None  # say it this long after the bot starts talking (over it), not after
    if_heard: str | None = None  # say it only when the far end's last turn, as we hear it, has these words (regex)


@dataclass
class Turn:
    said: str
    latency_ms: float | None = None  # end of our utterance → first bot audio
    bot_pcm: bytes = b""
    bot_text: str = ""


@dataclass
class CallReport:
    call_id: str = ""  # the SIP Call-ID: the bot records the call under it
    connected: bool = False
    greeting_pcm: bytes = b""
    greeting_text: str = ""
    turns: list[Turn] = field(default_factory=list)
    recording: bytes = b""
    disconnect_code: int | None = None
    keys_heard: str = ""  # DTMF the bot sent us
    srtp: bool = False  # the call's media was SRTP (pjsua's own account of the stream)
    invite: str = ""  # a call we took: its INVITE as received

    @property
    def bot_answered(self) -> bool:
        return self.connected and any(
            rms(self.recording[i : i + 320]) > SPEECH_RMS for i in range(0, len(self.recording), 320)
        )


class Softphone:
    def __init__(self, port: int = 0, caller: str = "softphone", echo: LineEcho | None = None,
                 tls: bool = False, srtp: bool = False, end_silence_s: float = 1.2,
                 hear: Callable[[bytes], str] | None = None) -> None:  # fmt: skip
        """`caller`: the user part of our From URI, e.g. a phone number as a trunk would present it.
        `echo`: the line returns the bot's voice to it (and adds noise). `tls`: able to call
        `...;transport=tls`; `srtp`: offers SRTP only. `end_silence_s`: the far end's turn is over
        once it has been silent this long. `hear`: the words in 8 kHz pcm16 (speech recognition, run
        in a thread), for utterances said only when the far end said something (`if_heard`)."""
        self.echo = echo
        self.hear = hear
        self.end_silence_s = end_silence_s
        self.endpoint = SipEndpoint(EndpointConfig(host="127.0.0.1", port=port, max_calls=1, tcp=False, tls=tls))
        self._offered: asyncio.Queue[SipCall] | None = None  # the call offered to us, while we wait for one
        self.account = InboundAccount(self._incoming, keep_invite=True)
        self.account.open(f"sip:{caller}@127.0.0.1", ("127.0.0.1", 40000 + os.getpid() % 20000, 20), srtp=srtp)
        self._recorded = bytearray()
        self._control: CallControl | None = None
        self._report: CallReport | None = None
        self._call: SipCall | None = None

    def _gone(self, call: SipCall) -> None:
        if self._control is not None:
            self._control.gone()
        self._call = None

    async def call(self, uri: str, utterances: list[tuple[str, bytes]] | list[Utterance], *,
                   max_turn_s: float = 20.0) -> CallReport:  # fmt: skip
        """`utterances`: (text, 8 kHz pcm16) or `Utterance`. Each is said after the bot's turn, or over
        it. Returns what happened; never raises for call failures."""
        self.endpoint.start()
        self.endpoint.active_calls = 1
        report = self._report = CallReport()
        call = SipCall(self.account, pj.PJSUA_INVALID_ID, self.endpoint.ports, self._gone)
        if self.echo is not None:
            call.media = CallMedia(_EchoingInbound(self.echo), _EchoingPlayout(self.echo))
        self._call = call
        try:
            call.dial(uri)
        except pj.Error as exc:
            log.error("call failed: %s", exc.info())
            return report
        control = self._control = CallControl(call)
        report.call_id = control.call_id
        try:
            if await until_media(control, MEDIA_TIMEOUT_S):
                report.connected = True
                report.srtp = "SRTP status: Active" in call.dump(True, "")
                await self._converse(control, report, utterances, max_turn_s)
        finally:
            await self._end(control, report)
        return report

    def _incoming(self, pj_call_id: int, headers: dict[str, str]) -> None:
        """On the loop thread, inside libHandleEvents: a call offered while we wait for one is ours.
        (Its `Call` is made here: one not made in this callback is hung up by pjsua2.)"""
        if self._offered is not None and self._call is None and self._offered.empty():
            try:
                self._call = SipCall(self.account, pj_call_id, self.endpoint.ports, self._gone)
            except pj.Error as exc:
                log.warning("offered call %d vanished: %s", pj_call_id, exc.info())
                return
            self._offered.put_nowait(self._call)

    async def answer(self, utterances: list[Utterance], *, first: Utterance | None = None, wait_s: float = 60.0,
                     ring_s: float = 0.0, max_turn_s: float = 20.0) -> CallReport:  # fmt: skip
        """Wait for a call (at most `wait_s`), let it ring `ring_s`, answer, say `first` at once (a
        person's "Hello?"), then the conversation as for a call we place. Never raises for call failures."""
        self.endpoint.start()
        self.endpoint.active_calls = 1
        report = self._report = CallReport()
        self._offered = asyncio.Queue(1)
        try:
            call = await asyncio.wait_for(self._offered.get(), wait_s)
        except TimeoutError:
            log.error("no call came within %.0f s", wait_s)
            return report
        control = self._control = CallControl(call)
        report.call_id, report.invite = control.call_id, self.account.last_invite
        try:
            control.answer(180)
            await asyncio.sleep(ring_s)
            if control.answer(200) and await until_media(control, MEDIA_TIMEOUT_S):
                report.connected = True
                if first is not None:
                    await self._say(control, first.pcm)
                await self._converse(control, report, utterances, max_turn_s)
        finally:
            await self._end(control, report)
        return report

    async def _converse(self, control: CallControl, report: CallReport,
                        utterances: list[tuple[str, bytes]] | list[Utterance], max_turn_s: float) -> None:  # fmt: skip
        said = [u if isinstance(u, Utterance) else Utterance(*u) for u in utterances]
        over = said[0] if said and said[0].over_bot_ms is not None else None
        report.greeting_pcm = await self._bot_turn(control, max_turn_s, over=over)
        for i, utterance in enumerate(said):
            if utterance.over_bot_ms is not None:
                continue  # said during the far end's previous turn
            if utterance.if_heard is not None and not await self._heard(report, utterance.if_heard):
                continue  # (what a caller says only when asked: "could you read it again?")
            turn = Turn(utterance.text)
            await self._say(control, utterance.pcm)
            spoke_at = time.monotonic()
            nxt = said[i + 1] if i + 1 < len(said) and said[i + 1].over_bot_ms is not None else None
            turn.bot_pcm = await self._bot_turn(control, max_turn_s, since=spoke_at, turn=turn, over=nxt)
            report.turns.append(turn)

    async def _heard(self, report: CallReport, words: str) -> bool:
        """Whether the far end's last turn has `words` (a regex, any case)."""
        if self.hear is None:
            raise ValueError("an utterance said only when the far end says something needs `hear`")
        last = report.turns[-1].bot_pcm if report.turns else report.greeting_pcm
        return re.search(words, await asyncio.to_thread(self.hear, last), re.I) is not None

    async def _end(self, control: CallControl, report: CallReport) -> None:
        control.hangup()
        for _ in range(100):
            if not control.alive:
                break
            await asyncio.sleep(0.02)
        report.recording = bytes(self._recorded)

    @staticmethod
    async def _say(control: CallControl, pcm: bytes) -> None:
        control.media.playout.push("caller", pcm)
        control.media.playout.finish("caller")
        # The playout drains on pjmedia's clock thread, which must not touch asyncio objects: poll.
        while control.media.playout.busy and control.alive:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    async def _bot_turn(self, control: CallControl, max_s: float, since: float | None = None,
                        turn: Turn | None = None, over: Utterance | None = None) -> bytes:  # fmt: skip
        """Record the bot until it has spoken and then stayed silent for `end_silence_s`; `over`:
        say this while it talks, `over.over_bot_ms` after its first audio (the bot may pause for it)."""
        heard = bytearray()
        spoken_at: float | None = None
        report = self._report
        quiet_since = time.monotonic()
        deadline = time.monotonic() + max_s
        while control.alive and time.monotonic() < deadline:
            while not control.events.empty():
                event = control.events.get_nowait()
                if isinstance(event, Dtmf) and report is not None:
                    report.keys_heard += event.digit
            for frame in control.media.inbound.drain():
                self._recorded += frame
                now = time.monotonic()
                if rms(frame) > SPEECH_RMS:
                    if spoken_at is None and turn is not None and since is not None:
                        # the frame began playing 20 ms before it reached us
                        turn.latency_ms = (now - since) * 1000 - FRAME_MS
                    spoken_at = spoken_at or now
                    quiet_since = now
                if spoken_at is not None:
                    heard += frame
            now = time.monotonic()
            if over is not None and spoken_at is not None and now - spoken_at >= (over.over_bot_ms or 0) / 1000:
                control.media.playout.push("caller", over.pcm)
                control.media.playout.finish("caller")
                over = None
            talking = control.media.playout.busy
            if talking:
                quiet_since = now  # the bot may hold its turn while we talk over it
            if spoken_at is not None and not talking and over is None and now - quiet_since >= self.end_silence_s:
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
        w.setframerate(LINE_RATE)
        w.writeframes(pcm)
