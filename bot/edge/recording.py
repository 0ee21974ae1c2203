"""A call's line audio for diagnosis (`record_dir`): what came in, what went up, what was played."""

from __future__ import annotations

import wave
from pathlib import Path

from bot.audio.frames import LINE_RATE
from bot.edge.buffers import CallerFrame

MAX_BYTES = LINE_RATE * 2 * 600  # per track: the first 10 minutes of a call; later audio is not kept
TRACKS = ("line", "clean", "bot")


class CallRecording:
    def __init__(self) -> None:
        self._tracks = tuple(bytearray() for _ in TRACKS)

    def add(self, frame: CallerFrame) -> None:
        if len(self._tracks[0]) >= MAX_BYTES:
            return
        for track, data in zip(self._tracks, (frame.line, frame.clean, frame.played or bytes(len(frame.line))),
                               strict=True):  # fmt: skip
            track += data

    def write(self, folder: Path, call_id: str) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, pcm in zip(TRACKS, self._tracks, strict=True):
            path = folder / f"{call_id}.{name}.wav"
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(LINE_RATE)
                w.writeframes(bytes(pcm))
            paths.append(path)
        return paths
