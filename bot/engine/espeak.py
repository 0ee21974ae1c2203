"""espeak-ng voices (many languages, robotic) through the library that `espeakng-loader` ships.

espeak-ng keeps global state, so one process-wide instance serialises every call behind a lock.
Voice names: ``espeak:<voice>``, e.g. ``espeak:fr``, ``espeak:de``, ``espeak:es``.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from bot.errors import ConfigError

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process's one espeak-ng instance."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError("package espeakng-loader is not installed") from exc
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_parent = str(Path(espeakng_loader.get_data_path()).parent).encode()
        rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent, 0)
        if rate <= 0:
            raise ConfigError("espeak-ng failed to initialise")
        self.sample_rate = int(rate)
        self._chunks: list[bytes] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: espeak calls it later
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def synthesize(self, voice: str, text: str) -> bytes:
        with self.lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"espeak-ng has no voice {voice!r}")
            self._chunks = []
            data = text.encode() + b"\0"
            self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            return b"".join(self._chunks)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _shared() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


class EspeakVoice:
    def __init__(self, voice: str) -> None:
        self._engine = _shared()
        self._voice = voice
        self.name = f"espeak:{voice}"
        self.sample_rate = self._engine.sample_rate
        self._engine.synthesize(voice, "")  # fail now, not mid-call, on an unknown voice

    def synthesize(self, sentence: str) -> bytes:
        return self._engine.synthesize(self._voice, sentence)
