"""TTS warm-up: the openings of a session's likely replies synthesized into the shared TTS cache
before the caller needs them, so a first reply rarely waits for TTS.

Engine-wide, one session at a time, one job at a time, and only while no session has a reply
running and the TTS lane is idle (replies first): sessions starting together never fill the lane
their greetings need, and a warm-up job never slips in between two sentences of a reply. Waiting is
on events (the last reply ending, the lane going idle), never polling. The whole warm-up is bounded
by `wait_s`: on a busy engine the cache fills from real replies instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Protocol

from bot.engine.pool import InferencePool

log = logging.getLogger(__name__)
WAIT_S = 30.0


class Voices(Protocol):  # bot/engine/tts.py's VoiceBank
    def cached(self, name: str, sentence: str) -> bool: ...
    def synthesize(self, name: str, sentence: str) -> bytes: ...


class TtsWarmup:
    def __init__(self, pool: InferencePool, voices: Voices, wait_s: float = WAIT_S) -> None:
        self.pool = pool
        self.voices = voices
        self.wait_s = wait_s
        self._running = False
        self._replies = 0  # running engine-wide
        self._quiet = asyncio.Event()
        self._quiet.set()
        self.asked = 0  # fills asked for (each session.update with new instructions)
        self.synthesized = 0

    @contextlib.contextmanager
    def reply(self) -> Iterator[None]:
        """A session's reply runs within this: warm-up waits until no reply runs."""
        self._replies += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._replies -= 1
            if not self._replies:
                self._quiet.set()

    async def fill(self, voice: str, texts: Iterable[str]) -> int:
        """Synthesize those of `texts` not cached yet, whenever no reply runs and the lane is idle.
        Returns how many it synthesized (0 when another session is warming up already)."""
        self.asked += 1
        todo = [t for t in dict.fromkeys(texts) if not self.voices.cached(voice, t)]
        if not todo or self._running:
            return 0
        self._running = True
        done = 0
        try:
            async with asyncio.timeout(self.wait_s):
                for text in todo:
                    while self._replies or self.pool.waiting("tts"):
                        await self._quiet.wait()
                        await self.pool.idle("tts")
                    await self.pool.run("tts", self.voices.synthesize, voice, text)
                    done += 1
        except TimeoutError:
            log.info("TTS warm-up: the engine stayed busy; %d of %d openings synthesized", done, len(todo))
        except Exception:  # a full lane or a failing voice: real replies report it
            log.warning("TTS warm-up stopped", exc_info=True)
        finally:
            self._running = False
            self.synthesized += done
        return done
