"""A call's recording: one stereo WAV, the caller on the left and the bot on the right, 8 kHz 16-bit,
both taken from the same tick of the call's media clock (a `CallerFrame` pairs what the line brought
with what the edge played), written to disk as the call runs.

The event loop only appends to a buffer (`add`); the owned task `run` writes it out every `FLUSH_S` on
a worker thread, and `wave` rewrites the header's sizes with every write, so the file is a valid WAV up
to its last second whatever happens to the process. A disk slower than the call: up to
`MAX_PENDING_S` of audio waits; beyond that frames are counted and written later as silence, so the
two channels and the call's clock stay aligned (stated overflow policy: lose audio, never time). A disk
that fails ends the recording (logged, `error` set), never the call.

PCI pause (`pause`): while a flow collects card data, both channels are written as silence.
"""

from __future__ import annotations

import asyncio
import audioop
import contextlib
import logging
import threading
import wave
from pathlib import Path
from typing import BinaryIO

from bot.audio.frames import FRAME_MS, LINE_RATE
from bot.call_metrics import RECORDING_GAP
from bot.edge.buffers import CallerFrame

log = logging.getLogger(__name__)
FLUSH_S = 1.0  # how often the buffer goes to disk (and how much a crash can lose)
MAX_PENDING_S = 30.0  # audio held for a stalled disk before frames become silence
STEREO_BYTES_PER_S = LINE_RATE * 2 * 2


class CallRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = 0  # call-clock frames recorded (20 ms each), silence included
        self.paused_frames = 0  # of them, held silent for a PCI pause
        self.error: str | None = None
        self._pending = bytearray()
        self._gap_bytes = 0  # audio that came while the pending buffer was full: written as silence
        self._paused = False
        self._lock = threading.Lock()  # one writer at a time (a cancelled flush may still be writing)
        self._wav: wave.Wave_write | None = None
        self._file: BinaryIO | None = None
        self._closed = False

    @property
    def seconds(self) -> float:
        return self.frames * FRAME_MS / 1000

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, on: bool) -> None:
        """PCI: from the next frame on, silence on both channels (`on`), or the call's audio again."""
        self._paused = on

    def add(self, frame: CallerFrame) -> None:
        """One tick of the call: what the caller's line brought (left), what the bot played (right)."""
        if self._closed or self.error is not None:
            return
        self.frames += 1
        size = len(frame.line) * 2
        if self._paused:
            self.paused_frames += 1
            stereo = bytes(size)
        else:
            left = audioop.tostereo(frame.line, 2, 1, 0)
            right = audioop.tostereo(frame.played, 2, 0, 1) if frame.played else bytes(size)
            stereo = audioop.add(left, right, 2)
        if self._gap_bytes or len(self._pending) >= MAX_PENDING_S * STEREO_BYTES_PER_S:
            self._gap_bytes += size
            RECORDING_GAP.inc(FRAME_MS / 1000)
            return
        self._pending += stereo

    async def run(self) -> None:
        """The call's task: open the file, then write what came every FLUSH_S until cancelled."""
        await asyncio.to_thread(self._open)
        while self.error is None:
            await asyncio.sleep(FLUSH_S)
            await asyncio.to_thread(self._write, self._take())

    async def close(self) -> None:
        """The rest to disk and the file closed (after `run` was cancelled). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._finish, self._take())

    def _take(self) -> bytes:
        """What waits to be written, in call order (on the event loop: `add` never races it)."""
        data, self._pending = bytes(self._pending), bytearray()
        if self._gap_bytes:  # the disk caught up: the stretch it lost as silence, after what came before
            data, self._gap_bytes = data + bytes(self._gap_bytes), 0
        return data

    # --- on a worker thread ---------------------------------------------------------------------
    def _open(self) -> None:
        with self._lock:
            if self._wav is not None or self.error is not None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "wb")  # noqa: SIM115  (open for the call: closed in _finish or _failed)
                wav = wave.open(self._file, "wb")  # noqa: SIM115  (the same)
                wav.setnchannels(2)
                wav.setsampwidth(2)
                wav.setframerate(LINE_RATE)
                wav.writeframes(b"")  # the header now: a WAV from its first second
                self._wav = wav
            except OSError as exc:
                self._failed(exc)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._wav is None or self._file is None or not data:
                return
            try:
                self._wav.writeframes(data)  # (rewrites the header's sizes too)
                self._file.flush()
            except OSError as exc:
                self._failed(exc)

    def _finish(self, data: bytes) -> None:
        self._open()  # (a call that ended before `run` opened it)
        self._write(data)
        with self._lock:
            try:
                if self._wav is not None:
                    self._wav.close()  # (a file object given to wave stays open: closed next)
                if self._file is not None:
                    self._file.close()
            except OSError as exc:
                self._failed(exc)
            self._wav, self._file = None, None

    def _failed(self, exc: Exception) -> None:
        self.error = f"{type(exc).__name__}: {exc}"
        log.error("recording %s stopped: %s", self.path, self.error)
        self._wav = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
