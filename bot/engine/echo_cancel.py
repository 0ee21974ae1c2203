"""Voice Live's `input_audio_echo_cancellation: server_echo_cancellation`: the engine removes the echo
of its own replies from the input audio, for clients that play the audio on a speaker (or a phone
line) and cannot cancel the echo themselves.

The engine knows what it sent, not when the client played it. It assumes what a realtime client does:
plays each reply as it arrives, without gaps, on the same clock as the input it sends. So a reply's
audio is laid on the input audio clock (ms since the session's first input byte) from the moment it
was sent, after whatever was still playing; the adaptive filter (Speex, `tail_ms` long) absorbs the
client's buffering and the echo path, and an echo gate turns down what is left of it (as at the SIP
edge: see bot/audio/echo.py) until the filter has learnt the path. A `conversation.item.truncate` tells where playback stopped:
what follows it is taken out of the reference.

Overflow policy: reference audio more than `max_ahead_ms` ahead of the input clock is dropped (a
client that does not play in real time gets no cancellation for it, never unbounded memory).
"""

from __future__ import annotations

from bot.audio.echo import EchoCanceller, EchoGate
from bot.audio.frames import ENGINE_BYTES_PER_MS, ENGINE_RATE, SPEECH_FLOOR
from bot.audio.level import rms


class ServerEchoCanceller:
    def __init__(self, tail_ms: int = 500, max_ahead_ms: int = 120_000) -> None:
        self._aec = EchoCanceller(tail_ms, ENGINE_RATE)
        self._gate = EchoGate()
        self._frame = self._aec.frame_bytes
        self._tail = tail_ms * ENGINE_BYTES_PER_MS
        self.max_ahead_bytes = max_ahead_ms * ENGINE_BYTES_PER_MS
        self._pos = 0  # bytes of input processed: the input clock, as 16 kHz pcm16
        self._pending = bytearray()
        self._ref = bytearray()  # the reference from self._ref_start on; invariant: _ref_start <= _pos
        self._ref_start = 0
        self._active_until = 0  # echo may still arrive up to here: run the filter until then
        self._items: dict[str, int] = {}  # item id → where its audio starts on the input clock (bytes)
        self.dropped_ms = 0

    @property
    def _ref_end(self) -> int:
        return self._ref_start + len(self._ref)

    def played(self, item_id: str, pcm16k: bytes) -> None:
        """Audio of a reply just sent to the client (16 kHz pcm16); it plays after what is queued."""
        now = self._pos + len(self._pending)
        if self._ref_end < now:  # nothing was playing: the reply starts now
            self._ref += bytes(now - self._ref_end)
        self._items.setdefault(item_id, self._ref_end)
        room = max(0, now + self.max_ahead_bytes - self._ref_end)
        if room < len(pcm16k):
            self.dropped_ms += (len(pcm16k) - room) // ENGINE_BYTES_PER_MS
            pcm16k = pcm16k[:room]
        self._ref += pcm16k
        self._active_until = self._ref_end + self._tail

    def truncated(self, item_id: str, audio_end_ms: int) -> None:
        """The client stopped playing `item_id` at `audio_end_ms`: nothing after it was heard."""
        start = self._items.get(item_id)
        if start is None:
            return
        cut = start + audio_end_ms * ENGINE_BYTES_PER_MS
        if cut < self._ref_end:
            del self._ref[max(0, cut - self._ref_start) :]
            self._active_until = max(self._pos, self._ref_end) + self._tail

    def process(self, pcm16k: bytes) -> bytes:
        """Input audio (16 kHz pcm16, in order) → the same with the echo removed. Whole 20 ms frames
        come out; a partial frame waits for the rest."""
        self._pending += pcm16k
        out = bytearray()
        while len(self._pending) >= self._frame:
            mic = bytes(self._pending[: self._frame])
            del self._pending[: self._frame]
            ref = self._take_ref()
            if self._pos < self._active_until:
                self._gate.reference(ref)
                clean = self._aec.process(mic, ref)
                level = rms(clean)
                out += self._gate.pass_on(clean, level >= SPEECH_FLOOR and not self._gate.is_echo(level))
            else:
                out += mic
            self._pos += self._frame
        return bytes(out)

    def _take_ref(self) -> bytes:
        """The reference for the input frame at `_pos` (silence where nothing was playing)."""
        behind = self._pos - self._ref_start
        if behind:
            del self._ref[:behind]
        ref = bytes(self._ref[: self._frame])
        del self._ref[: self._frame]
        self._ref_start = self._pos + self._frame
        return ref.ljust(self._frame, b"\0")

    def close(self) -> None:
        self._aec.close()
