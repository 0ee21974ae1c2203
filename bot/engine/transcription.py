"""Transcriptions of committed caller audio, delivered in commit order, with speculation.

Speculation: once the turn detector has heard enough trailing silence, the audio so far is
transcribed while the rest of the silence runs; if the turn then ends at that same point, the
final transcript is the speculative one, so the reply starts sooner.

Listening: with a recogniser that recognises as the caller speaks (Azure Speech), the turn is fed to
it from the detected start of speech (bot/engine/live_transcript.py); the commit then waits only for
its last phrase, and a speculative look at a pause reads what it has heard so far.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.engine.conversation import Item
from bot.engine.live_transcript import ListeningRecognizer, LiveTranscript, OnDelta
from bot.realtime.recognition_hints import Hints
from bot.realtime.turn_detection import TurnDetection
from bot.turn_policies.end_of_turn import required_silence_ms

if TYPE_CHECKING:
    from bot.engine.runtime import EngineRuntime

log = logging.getLogger(__name__)
FINAL_LEAD_MS = 200  # a listening recogniser's phrases end this much sooner than the turn's silence ...
MIN_PHRASE_SILENCE_MS = 300  # ... but after no less silence: at 150 ms phrases split inside sentences and
# their pieces were misheard ("Hi, good morning." → "All right. Good morning.")
OnDone = Callable[[Item, str, float, str | None], Awaitable[None]]  # item, transcript, audio seconds, failure
OnSpeculated = Callable[[int, str], Coroutine[Any, Any, None]]  # end of the audio transcribed (ms), transcript


class Transcriptions:
    def __init__(self, runtime: EngineRuntime, on_done: OnDone, on_speculated: OnSpeculated | None = None,
                 on_delta: OnDelta | None = None) -> None:  # fmt: skip
        self._runtime = runtime
        self._on_done = on_done
        self._on_speculated = on_speculated
        self._on_delta = on_delta
        self._spec: tuple[int, int, asyncio.Task[str]] | None = None  # (end ms, pcm bytes, task)
        self._listening: LiveTranscript | None = None  # the turn in progress, with a listening recogniser
        self._dropping: set[asyncio.Future[None]] = set()  # turns let go of, closing (awaited, never cancelled)
        self._chain: asyncio.Task[None] | None = None  # the latest delivery; each awaits the one before
        self._live: set[asyncio.Task[None]] = set()

    def _transcribe(self, pcm: bytes, hints: Hints) -> asyncio.Task[str]:
        runtime = self._runtime
        return asyncio.create_task(runtime.pool.run("asr", runtime.transcribe, pcm, hints), name="asr")

    # --- listening --------------------------------------------------------------------------------
    def listen(self, item_id: str, pcm: bytes, start_ms: int, end_ms: int, hints: Hints, td: TurnDetection) -> None:
        """Speech started: `pcm` is the turn so far, `start_ms` to `end_ms`; with a recogniser that listens, it
        hears the rest as it comes (`hear`). Any turn still being listened to is dropped."""
        self._drop_listening()
        recognizer = self._runtime.transcriber
        if not hasattr(recognizer, "listen"):
            return
        listener: ListeningRecognizer = recognizer  # type: ignore[assignment]
        # A phrase ends a little before the turn would, so its final text is ready as the turn ends
        # (semantic turns: before their shortest end; the engine's own end of turn holds the turn open).
        turn_ms = required_silence_ms(None, td.eagerness) if td.semantic else td.silence_duration_ms
        silence = max(MIN_PHRASE_SILENCE_MS, turn_ms - FINAL_LEAD_MS)

        async def delta(item: str, text: str) -> None:
            if self._on_delta is not None:
                await self._on_delta(item, text)

        def heard(text: str) -> None:  # (more heard during a pause: the turn's end is decided again on it)
            spec = self._spec
            if spec is not None and self._listening is not None and self._listening.item_id == item_id:
                self._spec = (spec[0], spec[1], asyncio.ensure_future(_now(text)))
                self._spec[2].add_done_callback(lambda t: self._speculated(spec[0], t))
                spec[2].cancel()

        try:
            live = LiveTranscript(item_id, lambda partial: listener.listen(hints, segmentation_ms=silence,
                                  on_partial=partial), start_ms, end_ms, delta,
                                  clean=td.remove_filler_words, on_heard=heard if td.semantic else None)  # fmt: skip
        except Exception:  # (the turn is transcribed whole at its commit instead, and fails there by name)
            log.exception("listening to %s failed", item_id)
            return
        live.listening.write(pcm)
        self._listening = live

    def hear(self, frames: list[tuple[int, bytes]]) -> None:
        """The session's new audio frames: the turn being listened to hears those it has not."""
        if self._listening is not None:
            self._listening.feed(frames)

    def _drop_listening(self) -> None:
        live, self._listening = self._listening, None
        if live is not None:
            self._own(asyncio.ensure_future(live.drop()))

    def _own(self, task: asyncio.Future[None]) -> None:
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    # --- speculation --------------------------------------------------------------------------------
    def speculate(self, end_ms: int, pcm: bytes, hints: Hints) -> None:
        self._drop_spec()
        if self._listening is not None:  # (what it has heard so far: no second recognition)
            task = asyncio.ensure_future(_now(self._listening.text))
        else:
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
        """The turn in progress is gone (cleared, or a new one started): its speculation and listening."""
        self._drop_spec()
        self._drop_listening()

    def _drop_spec(self) -> None:
        if self._spec is not None:
            self._spec[2].cancel()
            self._spec = None

    def start(self, item: Item, pcm: bytes, end_ms: int, hints: Hints) -> None:
        """Transcribe `pcm` for `item`; the result is delivered after every earlier one."""
        spec, self._spec = self._spec, None
        live = self._listening if self._listening is not None and self._listening.item_id == item.id else None
        if live is not None:  # (another item's audio leaves the turn being listened to as it is)
            self._listening = None
            if spec is not None:
                spec[2].cancel()
            task = asyncio.ensure_future(self._heard(live, end_ms))
        elif spec is not None and spec[0] == end_ms and spec[1] == len(pcm):
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

    async def _heard(self, live: LiveTranscript, end_ms: int) -> str:
        start = time.perf_counter()
        try:
            return await live.result(getattr(self._runtime.transcriber, "timeout_s", 10.0), end_ms)
        finally:
            self._runtime.stats.record("asr_final_ms", (time.perf_counter() - start) * 1000)
            if live.closing is not None:
                self._own(live.closing)

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
        await asyncio.gather(*live, *self._dropping, return_exceptions=True)


async def _now(text: str) -> str:
    return text
