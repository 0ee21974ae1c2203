"""What the edge can play with no engine: two lines spoken by the engine while it is up (once per
worker, kept as 8 kHz PCM) and a soft chime made here. When the engine is lost mid-call the session
plays them (bot/edge/session.py), so the caller never waits in silence while it reconnects."""

from __future__ import annotations

import array
import asyncio
import logging
import math
from dataclasses import dataclass, field

from bot.audio.frames import LINE_RATE
from bot.edge.config import BotConfig
from bot.edge.engine_link import RealtimeTarget
from bot.edge.spoken import spoken

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 30.0
RETRY_S = 5.0


def chime(amplitude: int = 2500) -> bytes:
    """Two soft notes (C5, E5; 120 ms each, 10 ms fades): 'still here', with no words."""
    samples = array.array("h")
    for freq in (523.25, 659.25):
        n = int(LINE_RATE * 0.12)
        fade = int(LINE_RATE * 0.01)
        for i in range(n):
            gain = min(1.0, i / fade, (n - i) / fade)
            samples.append(int(amplitude * gain * math.sin(2 * math.pi * freq * i / LINE_RATE)))
    return samples.tobytes()


def lines_of(bot: BotConfig) -> dict[str, str]:
    """hold: 'one moment', while the edge reconnects; sorry: the apology before the call is ended;
    transfer: the one before it is handed to a person (when there is someone to hand it to)."""
    lines = {"hold": bot.engine_lost_hold, "sorry": bot.engine_lost_sorry}
    if bot.transfer_target:
        lines["transfer"] = bot.engine_lost_transfer
    return lines


@dataclass
class FallbackAudio:
    """The lines, once fetched (until then `lines` is empty and the chime stands in)."""

    lines: dict[str, bytes] = field(default_factory=dict)
    chime: bytes = field(default_factory=chime)

    async def fetch(self, target: RealtimeTarget, bot: BotConfig) -> None:
        """Have the engine speak every line in one session of its own."""
        lines = lines_of(bot)
        self.lines = dict(zip(lines, await spoken(target, bot, list(lines.values())), strict=True))

    async def keep_fetching(self, target: RealtimeTarget, bot: BotConfig) -> None:
        """Until fetched: the engine may not be up yet, or busy. Owned by the worker."""
        while True:
            try:
                # (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that meets
                # the fetch's own end, and the worker's shutdown then waited on this loop for ever)
                async with asyncio.timeout(FETCH_TIMEOUT_S):
                    await self.fetch(target, bot)
                log.info("fallback lines ready: %s", ", ".join(f"{k} {len(v) / 2 / LINE_RATE:.1f} s"
                                                               for k, v in self.lines.items()))  # fmt: skip
                return
            except (ConnectionError, TimeoutError, ValueError, KeyError) as exc:
                log.warning("fallback lines not fetched yet (%s); retrying in %.0f s", exc, RETRY_S)
            await asyncio.sleep(RETRY_S)
