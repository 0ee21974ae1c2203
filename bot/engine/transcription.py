"""Transcriptions of committed caller audio, delivered in commit order, with speculation.

Speculation: once the turn detector has heard enough trailing silence, the audio so far is
transcribed while the rest of the silence runs; if the turn then ends at that same point, the
final transcript is the speculative one, so the reply starts sooner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.engine.conversation import Item
from bot.realtime.recognition_hints import Hints

if TYPE_CHECKING:
    from bot.engine.runtime import EngineRuntime

log = logging.getLogger(__name__)
OnDone = Callable[[Item, str, float, str | None], Awaitable[None]]  # item, transcript, audio seconds, failure
OnSpeculated = Callable[[int, str], Coroutine[Any, Any, None]]  # end of the audio transcribed (ms), transcript


class Transcriptions:
    def __init__(self, runtime: EngineRuntime, on_done: OnDone, on_speculated: OnSpeculated | None = None) -> None:
        self._runtime = runtime
        self._on_done = on_done
        self._on_speculated = on_speculated
        self._spec: tuple[int, int, asyncio.Task[str]] | None = None  # (end ms, pcm bytes, task)
        self._chain: asyncio.Task[None] | None = None  # the latest delivery; each awaits the one before
        self._live: set[asyncio.Task[None]] = set()

    def _transcribe(self, pcm: bytes, hints: Hints) -> asyncio.Task[str]:
        runtime = self._runtime
        return asyncio.create_task(runtime.pool.run("asr", runtime.transcribe, pcm, hints), name="asr")

    def speculate(self, end_ms: int, pcm: bytes, hints: Hints) -> None:
        self.drop_speculation()
        task = self._transcribe(pcm, hints)
        self._spec = (end_ms, len(pcm), task)
        if self._on_speculated is not None:
            task.add_done_callback(lambda t: self._speculated(end_ms, t))

    def _speculated(self, end_ms: int, task: asyncio.Task[str]) -> None:
        if task.cancelled() or task.exception() is not None or self._on_speculated is None:
            return
        if self._spec is not None and self._spec[2] is task:  # still the current pause
            follow = asyncio.get_running_loop().create_task(self._on_speculated(end_ms, task.result()))
            self._live.add(follow)
            follow.add_done_callback(self._live.discard)

    def drop_speculation(self) -> None:
        if self._spec is not None:
            self._spec[2].cancel()
            self._spec = None

    def start(self, item: Item, pcm: bytes, end_ms: int, hints: Hints) -> None:
        """Transcribe `pcm` for `item`; the result is delivered after every earlier one."""
        spec, self._spec = self._spec, None
        if spec is not None and spec[0] == end_ms and spec[1] == len(pcm):
            task = spec[2]
            self._runtime.stats.speculative_hits += 1
        else:
            if spec is not None:
                spec[2].cancel()
                self._runtime.stats.speculative_misses += 1
            task = self._transcribe(pcm, hints)
        seconds = len(pcm) / 32000
        self._chain = asyncio.create_task(self._deliver(item, task, seconds, self._chain), name=f"transcript-{item.id}")
        self._live.add(self._chain)
        self._chain.add_done_callback(self._live.discard)

    async def _deliver(
        self, item: Item, task: asyncio.Task[str], seconds: float, before: asyncio.Task[None] | None
    ) -> None:
        failure: str | None = None
        try:
            text = await task
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception as exc:
            log.exception("transcription of %s failed", item.id)
            text, failure = "", f"{type(exc).__name__}: {exc}"
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        await self._on_done(item, text, seconds, failure)

    async def wait_all(self) -> None:
        """Return once every transcription started so far is delivered."""
        if self._chain is not None:
            await asyncio.gather(asyncio.shield(self._chain), return_exceptions=True)

    async def aclose(self) -> None:
        self.drop_speculation()
        live = list(self._live)
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)
