"""Recordings kept for `VOICEBOT_RECORDING_RETENTION_DAYS`: the supervisor sweeps the recordings folder
at start and every hour, deleting files older than that (by their last write) and the day folders
they leave empty. A call's record keeps its `recording` name; the download then answers 410 Gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 3600.0


def sweep(root: Path, retention_days: float, now: float | None = None) -> int:
    """Delete recordings older than `retention_days`; how many were deleted."""
    cutoff = (now if now is not None else time.time()) - retention_days * 86400
    deleted = 0
    if not root.is_dir():
        return 0
    for day in sorted(p for p in root.iterdir() if p.is_dir()):
        for wav in day.glob("*.wav"):
            try:
                if wav.stat().st_mtime < cutoff:
                    wav.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue
        with contextlib.suppress(OSError):
            day.rmdir()  # (only when empty)
    return deleted


async def keep_sweeping(root: Path, retention_days: float) -> None:
    """The supervisor's task: a sweep now, then every SWEEP_EVERY_S; a failed sweep is logged."""
    while True:
        try:
            deleted = await asyncio.to_thread(sweep, root, retention_days)
            if deleted:
                log.info("retention: deleted %d recordings older than %g days", deleted, retention_days)
        except OSError as exc:
            log.error("retention sweep of %s failed: %s", root, exc)
        await asyncio.sleep(SWEEP_EVERY_S)
