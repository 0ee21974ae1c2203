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
- The hold is short: `resume_ms` after the caller's last speech the bot RESUMEs even without a
  verdict (a cough the engine never made a turn of, or a slow transcript). A verdict that comes
  later and has words still INTERRUPTs (at what was played by then).

The same machine takes the engine's `speech_started`/`speech_stopped` instead of local frames
(`engine_speech`), for when the edge runs no VAD of its own.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass

from bot.audio.frames import FRAME_MS

# Said while someone else talks, they mean "go on", not "stop" (Voice Live's filler words, plus the
# usual English backchannels). Whole-utterance match only: "yeah but" is an interruption.
BACKCHANNELS = frozenset((
    "uh-huh", "uh", "huh", "mhm", "mm-hmm", "mm-hm", "mmhmm", "mm", "hmm", "hm", "um", "umm", "er", "ah", "oh",
    "ok", "okay", "yeah", "yep", "yes", "yup", "right", "sure", "alright", "all", "i", "see", "got", "it",
    "cool", "nice", "great", "good", "fine", "thanks", "thank", "you", "so",
))  # fmt: skip
# Short words that do mean "stop": a brief utterance over the bot made only of other words is taken
# for a misheard backchannel (a recogniser turns "uh-huh" into "oh hi" or "up").
STOP_WORDS = frozenset((
    "no", "nope", "nah", "not", "stop", "wait", "hold", "hang", "sorry", "pardon", "excuse", "what", "hello",
    "hey", "agent", "operator", "human", "person", "representative", "help", "repeat", "cancel", "wrong",
    "actually", "but", "don", "dont",
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


class Onset:
    """Speech has begun: `start_ms` of speech frames within the last `window_ms` (the minimum speech
    duration: a click or a lone loud frame is not speech), or `fast_ms` of consecutive *strong*
    frames (well clear of anything the bot's echo could be: a caller plainly talking over it)."""

    def __init__(self, start_ms: int = 60, window_ms: int = 100, fast_ms: int = 40) -> None:
        self.start_frames = max(1, start_ms // FRAME_MS)
        self._recent: deque[bool] = deque(maxlen=max(1, window_ms // FRAME_MS))
        self._strong: deque[bool] = deque(maxlen=max(1, fast_ms // FRAME_MS))

    def frame(self, voiced: bool, strong: bool = False) -> bool:
        self._recent.append(voiced)
        self._strong.append(voiced and strong)
        fast = len(self._strong) == self._strong.maxlen and all(self._strong)
        return voiced and (sum(self._recent) >= self.start_frames or fast)


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
    start_ms: int = 60
    window_ms: int = 100
    fast_ms: int = 40
    interrupt_ms: int = 800
    resume_ms: int = 800
    brief_ms: int = 600  # speech shorter than this, of two words at most and no stop word: a backchannel
    answer_tail_ms: int = 600  # a backchannel this close to the end of the reply answers it
    state: BargeState = BargeState.IDLE
    heard: bool = False  # caller speech (by our own detector) since the last `turn_committed`
    _speech_ms: int = 0  # speech heard since the pause
    _last_speech: float = 0.0
    _engine_onset: float | None = None
    _awaiting: str | None = None  # the committed turn whose transcript decides
    _held: bool = False  # the bot was held for the caller since the last committed turn

    def onset_rule(self) -> Onset:
        """The onset rule with this policy's figures: the one instance runs on the media clock, next
        to the front end (bot/edge/buffers.py), and its decision comes back here with each frame."""
        return Onset(self.start_ms, self.window_ms, self.fast_ms)

    def frame(self, voiced: bool, onset: bool, bot_active: bool, now: float) -> BargeAction | None:
        """One 20 ms frame of the caller's line: our own detector's decision and the onset rule's."""
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
            self._speech_ms = self.start_ms  # speech over the bot since the hold began
            self._awaiting = None
            self._held = True
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
        if self._engine_onset is None and now - self._last_speech >= self.resume_ms:
            return self._resume()
        return None

    def turn_committed(self, item_id: str, now: float) -> bool:
        """The engine made a turn of the caller's speech. True: it was said over the bot, and its
        transcript decides (call `verdict`); False: treat it as a normal turn."""
        self.heard = False
        held, self._held = self._held, self.state is BargeState.PAUSED
        if not held or self.state is BargeState.INTERRUPTED:
            return False
        self._awaiting = item_id
        return True

    def awaiting(self, item_id: str) -> bool:
        """This committed turn was said over the bot, and its transcript decides."""
        return item_id == self._awaiting

    def verdict(
        self, item_id: str, transcript: str, reply_left_ms: int | None = None
    ) -> tuple[bool, BargeAction | None]:
        """The transcript of a turn said over the bot. Returns (is it a turn, what to do): a
        backchannel is no turn and RESUMEs the bot if it still holds; words are a turn and
        INTERRUPT. `reply_left_ms`: how much of the reply is still to play, when it is known to be
        complete; a "yes" over the last words of a question is the answer, not a backchannel."""
        if item_id != self._awaiting:
            return True, None
        self._awaiting = None
        words = spoken_words(transcript)
        answer = reply_left_ms is not None and reply_left_ms <= self.answer_tail_ms and bool(words)
        brief = self._speech_ms < self.brief_ms and len(words) <= 2 and not STOP_WORDS.intersection(words)
        if (is_backchannel(transcript) or brief) and not answer:
            return False, self._resume() if self.state is BargeState.PAUSED else None
        return True, self._interrupt()

    def _resume(self) -> BargeAction:
        self.state = BargeState.IDLE
        return BargeAction.RESUME

    def interrupted_elsewhere(self) -> None:
        """The reply was dropped for another reason (a keypad entry): nothing is on hold any more."""
        if self.state is BargeState.PAUSED:
            self.state = BargeState.INTERRUPTED
        self._awaiting = None
