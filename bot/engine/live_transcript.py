"""A caller turn transcribed while it is spoken, by a recogniser that can listen (Azure Speech's
continuous recognition: bot/engine/azure/listening.py); whisper, which decodes a turn whole, cannot.

Audio goes in frame by frame from the detected start of speech. The recogniser's partial results
become `conversation.item.input_audio_transcription.delta` events once the turn is committed (a
delta names an item the client has been told of): the text heard so far in one delta at the commit,
then each extension of it. A revised hypothesis that does not extend what was sent gives no delta;
the completed event carries the final text either way. When the turn ends only its last phrase is
still to be recognised, so the transcript comes sooner than a recognition started at the commit; and
when the recogniser's finished phrases already reach the end of the speech, it is final at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.audio.frames import FRAME_MS
from bot.engine.fillers import without_fillers
from bot.errors import SpeechServiceError
from bot.realtime.recognition_hints import Hints

log = logging.getLogger(__name__)
# The Speech SDK was seen (in a test process also serving the container, one run in two) holding every
# event of a recognition whose stream had ended, its results received, until it was stopped; the turn
# then waited out the whole timeout. A recognition that has said nothing this long after its audio
# ended is stopped, which hands its results over.
HELD_S = 3.0
END_SLACK_MS = 300  # of a turn's end that may be silence after its last word (the tail kept, the VAD's hangover)
OnDelta = Callable[[str, str], Awaitable[None]]  # item id, text to append to what was sent


class Listening(Protocol):
    """One turn inside a listening recogniser; thread-safe."""

    @property
    def text(self) -> str: ...
    def covers(self, ms: float) -> bool: ...
    def write(self, pcm16: bytes) -> None: ...
    def end(self, on_done: Callable[[], None] | None = None) -> None: ...
    def result(self) -> str: ...
    def close(self) -> None: ...


class ListeningRecognizer(Protocol):
    timeout_s: float

    def listen(self, hints: Hints, *, segmentation_ms: int | None = None,
               on_partial: Callable[[str], None] | None = None) -> Listening: ...  # fmt: skip


class LiveTranscript:
    def __init__(self, item_id: str, listening_to: Callable[[Callable[[str], None]], Listening], start_ms: int,
                 until_ms: int, on_delta: OnDelta, *, clean: bool = False,
                 on_heard: Callable[[str], None] | None = None) -> None:  # fmt: skip
        """`listening_to(on_partial)` opens the recogniser's turn; `start_ms`, `until_ms`: where the audio
        it is first given begins and ends (the first `feed` goes on from there); `clean`: fillers out of
        the deltas, as out of the transcript; `on_heard(text)`: each update before the commit (the
        loop's thread)."""
        self.item_id = item_id
        self.until_ms = until_ms
        self._loop = asyncio.get_running_loop()
        self._on_delta = on_delta
        self._on_heard = on_heard
        self._clean = clean
        self._sent = ""
        self._committed = False
        self._deltas: list[asyncio.Task[None]] = []
        self._ready: asyncio.Future[None] | None = None  # (the final text is awaited: `result`)
        self._needed_ms = 0  # of the stream that finished phrases must reach for it to be final
        self.start_ms = start_ms
        self.closing: asyncio.Future[None] | None = None
        self.listening = listening_to(self._partial)

    @property
    def text(self) -> str:
        """What has been heard so far."""
        return self.listening.text

    def feed(self, frames: list[tuple[int, bytes]]) -> None:
        """Frames (start ms, 16 kHz pcm16) of the session's audio; those before `until_ms` were fed already."""
        if self._committed:
            return
        for start_ms, frame in frames:
            if start_ms >= self.until_ms:
                self.listening.write(frame)
                self.until_ms = start_ms + FRAME_MS

    async def result(self, timeout_s: float, end_ms: int | None = None) -> str:
        """The turn is over: its final text, once the recogniser has it. `end_ms`: where the turn's audio
        ends; once finished phrases reach it (less the silence kept after the speech) with none in
        progress, the text is final at once, without waiting for the recogniser to end the stream.
        The recognition is let go of in the background then (`closing`)."""
        self._committed = True
        self._send(self.listening.text)
        ready = self._loop.create_future()
        if end_ms is not None:
            self._needed_ms = end_ms - self.start_ms - END_SLACK_MS
            self._ready = ready
            if self.listening.covers(self._needed_ms):
                _settle(ready)
        self.listening.end(lambda: self._from_thread(lambda: _settle(ready)))
        try:
            try:
                await asyncio.wait_for(asyncio.shield(ready), min(HELD_S, timeout_s))
            except TimeoutError:  # (stopping it hands over what it holds, or ends it: `_settle` either way)
                log.info("the recogniser of %s holds its result after %g s: stopping it", self.item_id, HELD_S)
                self.closing = asyncio.ensure_future(asyncio.to_thread(self.listening.close))
                await asyncio.wait_for(asyncio.shield(ready), max(0.0, timeout_s - HELD_S))
        except TimeoutError:
            raise SpeechServiceError(f"the recogniser gave no result in {timeout_s:g} s") from None
        finally:
            if self.closing is None:
                self.closing = asyncio.ensure_future(asyncio.to_thread(self.listening.close))
        text = self.listening.result()
        await asyncio.gather(*self._deltas, return_exceptions=True)  # (each delta is out before the completed event)
        return text

    async def drop(self) -> None:
        """The turn was not committed (cleared, or speech that turned out to be none): let it go."""
        self._committed = True
        self.listening.end()
        await asyncio.to_thread(self.listening.close)

    def _partial(self, text: str) -> None:  # (the recogniser's thread)
        self._from_thread(lambda: self._send(text))

    def _from_thread(self, call: Callable[[], object]) -> None:
        with contextlib.suppress(RuntimeError):  # (the loop is closed: the session is long gone)
            self._loop.call_soon_threadsafe(call)

    def _send(self, text: str) -> None:
        if self._ready is not None and self.listening.covers(self._needed_ms):
            _settle(self._ready)  # (`result` wakes after this call, so this text's delta is among those it awaits)
        if not self._committed:
            if self._on_heard is not None:
                self._on_heard(text)
            return
        text = without_fillers(text) if self._clean else text
        if len(text) > len(self._sent) and text.startswith(self._sent):
            delta, self._sent = text[len(self._sent) :], text
            self._deltas.append(asyncio.ensure_future(self._on_delta(self.item_id, delta)))


def _settle(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
