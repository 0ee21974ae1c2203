"""What the edge keeps of a call's line audio, frame by frame on the media clock: the call's recording
(bot/edge/call_recorder.py), the diagnostic dump (`record_dir`, bot/edge/recording.py) and the reply
gaps (bot/edge/reply_gap.py) the call log reports. The session gives it every frame it drains."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

from bot.edge.buffers import CallerFrame
from bot.edge.call_log import CallLog
from bot.edge.call_recorder import CallRecorder
from bot.edge.config import BotConfig
from bot.edge.recording import CallRecording
from bot.edge.reply_gap import ReplyGaps

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
PCI_MAX_FRAMES = 180 * 50  # a pause no flow ended (the caller gave up on paying) lasts 3 minutes at most


def recording_name(call_id: str, day: dt.date) -> str:
    """Where a call's recording goes under the recordings folder: a folder per day (retention sweeps
    whole days), the call id made safe for a file name (a SIP Call-ID may hold '/', '@', '..')."""
    safe = _UNSAFE.sub("_", call_id)[:120].lstrip(".") or "call"
    return f"{day.isoformat()}/{safe}.wav"


class LineTap:
    def __init__(self, bot: BotConfig, log: CallLog, call_id: str) -> None:
        self._log = log
        self._call_id = call_id
        self._dump = CallRecording() if bot.record_dir else None
        self._dump_dir = bot.record_dir
        self.name = recording_name(call_id, dt.date.today()) if bot.recordings_dir else None
        self.recorder = CallRecorder(Path(bot.recordings_dir) / self.name) if bot.recordings_dir and self.name else None
        self._gaps = ReplyGaps()
        self._pci_from = 0  # the recorder's frame count when the pause began

    def frames(self, frames: list[CallerFrame]) -> None:
        for f in frames:
            if self.recorder is not None:
                self.recorder.add(f)
                if self.recorder.paused and self.recorder.frames - self._pci_from >= PCI_MAX_FRAMES:
                    self.pci(False)
            if self._dump is not None:
                self._dump.add(f)
            gap = self._gaps.frame(f)
            if gap is not None:
                self._log.replied(gap.at_ms, gap.gap_ms)

    def pci(self, on: bool) -> None:
        """A flow collects card data (`on`) or is done: the recording holds silence meanwhile."""
        if self.recorder is not None and self.recorder.paused != on:
            self.recorder.pause(on)
            self._pci_from = self.recorder.frames
            self._log.pci(on, self.recorder.frames * 20)

    @property
    def pci_paused(self) -> bool:
        return self.recorder is not None and self.recorder.paused

    async def run(self) -> None:
        if self.recorder is not None:
            await self.recorder.run()

    async def close(self) -> None:
        """The recording closed and indexed in the call's record; the diagnostic dump written."""
        if self.recorder is not None:
            await self.recorder.close()
            r = self.recorder
            self._log.note(recording=self.name or "", recording_s=f"{r.seconds:.2f}",
                           recording_paused_s=f"{r.paused_frames * 0.02:.2f}",
                           **({"recording_error": r.error} if r.error else {}))  # fmt: skip
        if self._dump is not None and self._dump_dir:
            await asyncio.to_thread(self._dump.write, Path(self._dump_dir), self._call_id)
