"""Barge-in: when caller sound while the bot is talking stops the bot, and when it was nothing.

Pure: it takes frame decisions, transcripts and timestamps (ms, any monotonic clock) and returns what
to do; the call session carries it out. The shape (as LiveKit's "false interruption" handling):

- The caller is heard over the bot (`start_ms` of speech within `window_ms`: the minimum speech
  duration, so a click or a lone loud frame does nothing): **PAUSE** the bot's playout at once, keep
  its reply.
- Speech that goes on past `interrupt_ms` is an interruption whatever it says (backchannels are
  shorter): **INTERRUPT** — drop the rest of the reply, cancel it, truncate at what was played.
- Shorter speech waits for its transcript (`verdict`): a backchannel or filler ("uh-huh", "yeah",
  "mm", "okay", a cough that transcribes to nothing) **RESUMEs** the bot where it stopped; anything
  else INTERRUPTs.
- No verdict at all (the engine never made a turn of it: a cough) within `resume_ms` after the
  caller's last speech: RESUME.

The same machine takes the engine's `speech_started`/`speech_stopped` instead of local frames
(`engine_speech`), for when the edge runs no VAD of its own.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass, field

FRAME_MS = 20

# Said while someone else talks, they mean "go on", not "stop" (Voice Live's filler words, plus the
# usual English backchannels). Whole-utterance match only: "yeah but" is an interruption.
BACKCHANNELS = frozenset((
    "uh-huh", "uh", "huh", "mhm", "mm-hmm", "mm-hm", "mmhmm", "mm", "hmm", "hm", "um", "umm", "er", "ah", "oh",
    "ok", "okay", "yeah", "yep", "yes", "yup", "right", "sure", "alright", "all", "i", "see", "got", "it",
    "cool", "nice", "great", "good", "fine", "thanks", "thank", "you", "so",
))  # fmt: skip
_HUM = re.compile(r"[mhuao]{1,6}")  # letters of a hum only: "mmm", "hmmm", "uhh", "ahh", "mhm", "ohh"
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_NON_SPEECH = re.compile(r"[\[(*][^\])*]*[\])*]")  # whisper's "(coughs)", "[BLANK_AUDIO]", "*sigh*"


def spoken_words(transcript: str) -> list[str]:
    return _WORD.findall(_NON_SPEECH.sub(" ", transcript.lower()))


def is_backchannel(transcript: str) -> bool:
    """True when the words carry no request: empty, non-speech tags, or only backchannel/filler words
    (also as the recogniser spells a hum: "mmm", "hmmm", "uhh", "ahh")."""
    words = [part for word in spoken_words(transcript) for part in word.split("-")]
    return len(words) <= 4 and all(w in BACKCHANNELS or _HUM.fullmatch(w) for w in words)


class BargeAction(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    INTERRUPT = "interrupt"


class BargeState(enum.Enum):
    IDLE = "idle"  # the bot is quiet, or talking with nobody over it
    PAUSED = "paused"  # the bot holds its reply while we find out whether the caller meant it
    INTERRUPTED = "interrupted"  # the reply is gone; back to IDLE once the bot is quiet


@dataclass
class BargeInPolicy:
    start_ms: int = 80
    window_ms: int = 120
    interrupt_ms: int = 800
    resume_ms: int = 1200
    answer_tail_ms: int = 600  # a backchannel this close to the end of the reply answers it
    verdict_wait_ms: int = 4000  # longest wait for a committed turn's transcript before resuming
    state: BargeState = BargeState.IDLE
    heard: bool = False  # caller speech (by our own detector) since the last `turn_committed`
    _recent: deque[bool] = field(default_factory=deque)
    _speech_ms: int = 0  # speech heard since the pause
    _last_speech: float = 0.0
    _engine_onset: float | None = None
    _awaiting: str | None = None  # the committed turn whose transcript decides
    _awaiting_since: float = 0.0

    def frame(self, voiced: bool, bot_active: bool, now: float) -> BargeAction | None:
        """One 20 ms frame of the caller's line (our own detector's decision)."""
        self._recent.append(voiced)
        while len(self._recent) > self.window_ms // FRAME_MS:
            self._recent.popleft()
        onset = voiced and sum(self._recent) * FRAME_MS >= self.start_ms
        if onset:
            self.heard = True
        if voiced:
            self._last_speech = now
        if self.state is BargeState.PAUSED:
            if voiced:
                self._speech_ms += FRAME_MS
            return self._maybe_interrupt(now)
        return self._maybe_pause(onset, bot_active, now)

    def engine_speech(self, started: bool, bot_active: bool, now: float) -> BargeAction | None:
        """The engine's speech_started / speech_stopped, when the edge has no detector of its own."""
        self._last_speech = now
        if not started:
            if self.state is BargeState.PAUSED and self._engine_onset is not None:
                self._speech_ms = int(now - self._engine_onset)
            self._engine_onset = None
            return None
        self.heard = True
        self._engine_onset = now
        return self._maybe_pause(True, bot_active, now)

    def _maybe_pause(self, onset: bool, bot_active: bool, now: float) -> BargeAction | None:
        if self.state is BargeState.INTERRUPTED and not bot_active:
            self.state = BargeState.IDLE
        if self.state is BargeState.IDLE and onset and bot_active:
            self.state = BargeState.PAUSED
            self._speech_ms = self.start_ms
            self._awaiting = None
            return BargeAction.PAUSE
        return None

    def _maybe_interrupt(self, now: float) -> BargeAction | None:
        speech = self._speech_ms
        if self._engine_onset is not None:
            speech = max(speech, int(now - self._engine_onset))
        if speech >= self.interrupt_ms:
            return self._interrupt()
        return None

    def _interrupt(self) -> BargeAction:
        self.state = BargeState.INTERRUPTED
        self._awaiting = None
        self._engine_onset = None
        return BargeAction.INTERRUPT

    def tick(self, now: float, bot_active: bool) -> BargeAction | None:
        """Time alone: long engine-reported speech interrupts; a pause nobody explains ends."""
        if self.state is BargeState.INTERRUPTED and not bot_active:
            self.state = BargeState.IDLE
        if self.state is not BargeState.PAUSED:
            return None
        if not bot_active:  # the reply went away (cancelled elsewhere): nothing left to hold
            self.state = BargeState.IDLE
            return None
        action = self._maybe_interrupt(now)
        if action is not None:
            return action
        if self._awaiting is not None:
            if now - self._awaiting_since >= self.verdict_wait_ms:
                return self._resume()
            return None
        if self._engine_onset is None and now - self._last_speech >= self.resume_ms:
            return self._resume()
        return None

    def turn_committed(self, item_id: str, now: float) -> bool:
        """The engine made a turn of the caller's speech. True: its transcript decides (call
        `verdict`); False: nothing is on hold, treat it as a normal turn."""
        self.heard = False
        if self.state is not BargeState.PAUSED:
            return False
        self._awaiting, self._awaiting_since = item_id, now
        return True

    def verdict(self, item_id: str, transcript: str, reply_left_ms: int | None = None) -> BargeAction | None:
        """The transcript of a turn committed while paused: backchannel → RESUME, words → INTERRUPT.
        `reply_left_ms`: how much of the reply is still to play, when it is known to be complete;
        a "yes" over the last words of a question is the answer, not a backchannel."""
        if self.state is not BargeState.PAUSED or item_id != self._awaiting:
            return None
        answer = reply_left_ms is not None and reply_left_ms <= self.answer_tail_ms and bool(spoken_words(transcript))
        return self._resume() if is_backchannel(transcript) and not answer else self._interrupt()

    def _resume(self) -> BargeAction:
        self.state = BargeState.IDLE
        self._awaiting = None
        self._speech_ms = 0
        return BargeAction.RESUME

    def interrupted_elsewhere(self) -> None:
        """The reply was dropped for another reason (a keypad entry): nothing is on hold any more."""
        if self.state is BargeState.PAUSED:
            self.state = BargeState.INTERRUPTED
        self._awaiting = None
