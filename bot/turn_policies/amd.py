"""Answering-machine detection: is the callee of an outbound call a person or a machine? Decided from
how they start talking, as Asterisk's AMD() and Jambonz do: a person says a few words ("Hello?",
"Yeah, Dana speaking") and waits; a machine plays a long greeting with many words. Then, for a
machine, when to leave the message: once its beep has ended, or once its greeting has (no beep).

Pure: 20 ms frames of 8 kHz pcm16 in, verdicts out; time is the frame count (ms since the answer).
Speech per frame is webrtcvad's; a beep is a steady tone (one frequency holding most of the energy).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import webrtcvad

from bot.audio.frames import FRAME_MS, LINE_RATE


class Verdict(enum.Enum):
    HUMAN = "human"
    MACHINE = "machine"
    NO_SPEECH = "no_speech"  # nothing said in time: treated as a person who waits for us


@dataclass(frozen=True)
class AmdConfig:
    no_speech_ms: int = 4000  # nothing by then: NO_SPEECH
    greeting_max_ms: int = 1800  # a person's first words last no longer (speech from the first word on)
    words_max: int = 4  # ...and have no more words than this
    after_greeting_ms: int = 800  # quiet this long after a short greeting: HUMAN
    word_gap_ms: int = 60  # silence that separates two words
    word_min_ms: int = 100  # shorter bursts are clicks and breath, not words
    beep_min_ms: int = 120  # a tone at least this long is the beep
    greeting_end_ms: int = 1500  # a machine quiet this long has finished its greeting (no beep)


class AnsweringMachineDetector:
    def __init__(self, config: AmdConfig | None = None) -> None:
        self.config = config or AmdConfig()
        self._vad = webrtcvad.Vad(2)
        self.at_ms = 0  # time of the frame being looked at (ms since the answer)
        self.verdict: Verdict | None = None
        self.decided_ms: int | None = None
        self._first_word_ms: int | None = None
        self._words = 0
        self._run_ms = 0  # current run of speech
        self._quiet_ms = 0  # current run of silence
        self._tone_ms = 0  # current run of a steady tone
        self._tone_hz = 0.0
        self._beeped = False

    def frame(self, pcm: bytes) -> Verdict | None:
        """Feed one frame; the verdict on the frame that decides it (then None)."""
        speech = self._speech(pcm)
        self.at_ms += FRAME_MS
        if self.verdict is not None:
            return None
        cfg = self.config
        if speech:
            self._run_ms += FRAME_MS
            if self._run_ms == cfg.word_min_ms:  # a word (once it is long enough to be one)
                self._words += 1
                if self._first_word_ms is None:
                    self._first_word_ms = self.at_ms - cfg.word_min_ms
            self._quiet_ms = 0
        else:
            self._quiet_ms += FRAME_MS
            if self._quiet_ms >= cfg.word_gap_ms:
                self._run_ms = 0
        if self._first_word_ms is None:
            return self._decide(Verdict.NO_SPEECH) if self.at_ms >= cfg.no_speech_ms else None
        greeting_ms = self.at_ms - self._first_word_ms - self._quiet_ms
        if self._words > cfg.words_max or greeting_ms > cfg.greeting_max_ms:
            return self._decide(Verdict.MACHINE)
        if self._quiet_ms >= cfg.after_greeting_ms:
            return self._decide(Verdict.HUMAN)
        return None

    def message_due(self, pcm: bytes) -> bool:
        """After MACHINE, frame by frame: True once the beep has ended, or once the greeting has and
        no beep came (leave the message now)."""
        tone = self._tone(pcm)
        speech = not tone and self._speech(pcm)
        self.at_ms += FRAME_MS
        if tone:
            self._tone_ms += FRAME_MS
            self._quiet_ms = 0
            return False
        if self._tone_ms >= self.config.beep_min_ms:
            self._beeped = True
        self._tone_ms = 0
        if self._beeped:
            return True
        self._quiet_ms = 0 if speech else self._quiet_ms + FRAME_MS
        return self._quiet_ms >= self.config.greeting_end_ms

    @property
    def beeped(self) -> bool:
        return self._beeped

    def _decide(self, verdict: Verdict) -> Verdict:
        self.verdict, self.decided_ms = verdict, self.at_ms
        self._quiet_ms = 0
        return verdict

    def _speech(self, pcm: bytes) -> bool:
        return len(pcm) == LINE_RATE * FRAME_MS // 1000 * 2 and self._vad.is_speech(pcm, LINE_RATE)

    def _tone(self, pcm: bytes) -> bool:
        """One frequency between 300 and 2500 Hz holds most of the frame's energy, as before."""
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
        if samples.size == 0 or np.sqrt(np.mean(samples**2)) < 300:
            return False
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
        freqs = np.fft.rfftfreq(samples.size, 1 / LINE_RATE)
        peak = int(np.argmax(spectrum))
        share = spectrum[max(0, peak - 1) : peak + 2].sum() / spectrum.sum()
        steady = self._tone_ms == 0 or abs(freqs[peak] - self._tone_hz) <= 60
        self._tone_hz = float(freqs[peak])
        return bool(300 <= freqs[peak] <= 2500 and share > 0.6 and steady)
