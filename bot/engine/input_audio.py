"""The input audio buffer: caller audio since the last commit or clear, as 16 kHz pcm16.

Positions are ms on the session's audio clock (0 = first byte the client appended).
Overflow policy: the buffer holds at most `max_ms`; older audio is dropped first.
"""

from __future__ import annotations

from bot.audio.formats import AudioFormat, Decoder
from bot.audio.frames import ENGINE_BYTES_PER_MS, ENGINE_FRAME_BYTES, ENGINE_RATE, FRAME_MS
from bot.engine.echo_cancel import ServerEchoCanceller


class NoiseSuppressor:
    """webrtc noise suppression on 16 kHz pcm16 (10 ms blocks; a partial block waits for the next)."""

    BLOCK = ENGINE_RATE // 100 * 2

    def __init__(self, level: int) -> None:
        from webrtc_noise_gain import AudioProcessor

        self.level = level
        self._proc = AudioProcessor(0, level)  # no automatic gain: levels matter to the VAD
        self._pending = bytearray()

    def process(self, pcm: bytes) -> bytes:
        self._pending += pcm
        usable = len(self._pending) - len(self._pending) % self.BLOCK
        out = bytearray()
        for i in range(0, usable, self.BLOCK):
            out += self._proc.Process10ms(bytes(self._pending[i : i + self.BLOCK])).audio
        del self._pending[:usable]
        return bytes(out)


class InputAudioBuffer:
    def __init__(self, fmt: AudioFormat, max_ms: int) -> None:
        self.max_ms = max_ms
        self.noise: NoiseSuppressor | None = None  # input_audio_noise_reduction
        self.echo: ServerEchoCanceller | None = None  # input_audio_echo_cancellation (before noise reduction)
        self._decoder = Decoder(fmt, ENGINE_RATE)
        self._pcm = bytearray()
        self.start_ms = 0  # audio clock of self._pcm[0]
        self._unframed = bytearray()
        self._framed_until_ms = 0

    def set_format(self, fmt: AudioFormat) -> None:
        if fmt != self._decoder.fmt:
            self._decoder = Decoder(fmt, ENGINE_RATE)

    def set_noise_reduction(self, level: int | None) -> None:
        """0-4 (webrtc's levels), or None for off; the suppressor keeps its state while the level stays."""
        if level is None:
            self.noise = None
        elif self.noise is None or self.noise.level != level:
            self.noise = NoiseSuppressor(level)

    @property
    def end_ms(self) -> int:
        return self.start_ms + len(self._pcm) // ENGINE_BYTES_PER_MS

    @property
    def duration_ms(self) -> int:
        return len(self._pcm) // ENGINE_BYTES_PER_MS

    def append(self, wire: bytes) -> list[tuple[int, bytes]]:
        """Add wire audio; return the complete 20 ms frames it produced, each with its start (ms)."""
        pcm = self._decoder.process(wire)
        if self.echo is not None:
            pcm = self.echo.process(pcm)
        if self.noise is not None:
            pcm = self.noise.process(pcm)
        self._pcm += pcm
        self._unframed += pcm
        frames: list[tuple[int, bytes]] = []
        while len(self._unframed) >= ENGINE_FRAME_BYTES:
            frames.append((self._framed_until_ms, bytes(self._unframed[:ENGINE_FRAME_BYTES])))
            del self._unframed[:ENGINE_FRAME_BYTES]
            self._framed_until_ms += FRAME_MS
        overflow = len(self._pcm) - self.max_ms * ENGINE_BYTES_PER_MS
        if overflow > 0:
            self.drop_before(self.start_ms + -(-overflow // ENGINE_BYTES_PER_MS))
        return frames

    def slice(self, start_ms: int, end_ms: int) -> bytes:
        a = max(0, start_ms - self.start_ms) * ENGINE_BYTES_PER_MS
        b = max(0, end_ms - self.start_ms) * ENGINE_BYTES_PER_MS
        return bytes(self._pcm[a:b])

    def take(self, end_ms: int | None = None) -> bytes:
        """Remove and return audio up to `end_ms` (all when None); the rest stays buffered."""
        end = self.end_ms if end_ms is None else min(end_ms, self.end_ms)
        data = self.slice(self.start_ms, end)
        self.drop_before(end)
        return data

    def drop_before(self, ms: int) -> None:
        cut = max(0, min(ms, self.end_ms) - self.start_ms)
        del self._pcm[: cut * ENGINE_BYTES_PER_MS]
        self.start_ms += cut

    def clear(self) -> None:
        self.drop_before(self.end_ms)
