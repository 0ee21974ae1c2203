"""The audio formats of the Realtime / Voice Live wire, and streaming converters to and from them.

Names in the beta / Voice Live dialect: ``pcm16`` (24 kHz unless ``input_audio_sampling_rate`` says
otherwise), ``pcm16_8000hz``, ``pcm16_16000hz``, ``g711_ulaw``, ``g711_alaw``. In the GA dialect:
``{"type": "audio/pcm", "rate": 24000}``, ``{"type": "audio/pcmu"}``, ``{"type": "audio/pcma"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.audio import g711
from bot.audio.resample import Resampler

Encoding = Literal["pcm16", "g711_ulaw", "g711_alaw"]
PCM_RATES = (8000, 16000, 24000)


class AudioFormatError(ValueError):
    """An audio format name or rate that the engine does not speak."""


@dataclass(frozen=True)
class AudioFormat:
    encoding: Encoding
    rate: int  # Hz

    @property
    def bytes_per_ms(self) -> float:
        return self.rate / 1000 * (2 if self.encoding == "pcm16" else 1)

    def duration_ms(self, nbytes: int) -> float:
        return nbytes / self.bytes_per_ms

    def to_pcm16(self, data: bytes) -> bytes:
        """Wire bytes to pcm16 at `self.rate`."""
        if self.encoding == "g711_ulaw":
            return g711.ulaw_to_pcm16(data)
        if self.encoding == "g711_alaw":
            return g711.alaw_to_pcm16(data)
        return data

    def from_pcm16(self, pcm16: bytes) -> bytes:
        """pcm16 at `self.rate` to wire bytes."""
        if self.encoding == "g711_ulaw":
            return g711.pcm16_to_ulaw(pcm16)
        if self.encoding == "g711_alaw":
            return g711.pcm16_to_alaw(pcm16)
        return pcm16

    # --- beta / Voice Live names -------------------------------------------------------------
    @classmethod
    def from_beta(cls, name: str, sampling_rate: int | None = None) -> AudioFormat:
        if name in ("g711_ulaw", "g711_alaw"):
            return cls(name, 8000)  # type: ignore[arg-type]
        if name == "pcm16":
            rate = sampling_rate or 24000
            if rate not in PCM_RATES:
                raise AudioFormatError(f"unsupported sampling rate {rate}; use one of {PCM_RATES}")
            return cls("pcm16", rate)
        if name in ("pcm16_8000hz", "pcm16_16000hz", "pcm16_24000hz"):
            return cls("pcm16", int(name.removeprefix("pcm16_").removesuffix("hz")))
        raise AudioFormatError(
            f"unsupported audio format {name!r}; use pcm16, pcm16_8000hz, pcm16_16000hz, g711_ulaw or g711_alaw"
        )

    def to_beta(self) -> str:
        if self.encoding != "pcm16" or self.rate == 24000:
            return self.encoding
        return f"pcm16_{self.rate}hz"

    # --- GA names ------------------------------------------------------------------------------
    @classmethod
    def from_ga(cls, spec: Any) -> AudioFormat:
        if not isinstance(spec, dict):
            raise AudioFormatError("audio format must be an object like {'type': 'audio/pcm', 'rate': 24000}")
        kind = spec.get("type")
        if kind == "audio/pcmu":
            return cls("g711_ulaw", 8000)
        if kind == "audio/pcma":
            return cls("g711_alaw", 8000)
        if kind == "audio/pcm":
            rate = spec.get("rate", 24000)
            if rate not in PCM_RATES:
                raise AudioFormatError(f"unsupported rate {rate!r}; use one of {PCM_RATES}")
            return cls("pcm16", int(rate))
        raise AudioFormatError(f"unsupported audio format type {kind!r}; use audio/pcm, audio/pcmu or audio/pcma")

    def to_ga(self) -> dict[str, Any]:
        if self.encoding == "g711_ulaw":
            return {"type": "audio/pcmu"}
        if self.encoding == "g711_alaw":
            return {"type": "audio/pcma"}
        return {"type": "audio/pcm", "rate": self.rate}


PCM16_24K = AudioFormat("pcm16", 24000)


class Decoder:
    """Wire audio in `fmt` → pcm16 at `out_rate`, streaming, with little delay (soxr MQ: see Resampler)."""

    def __init__(self, fmt: AudioFormat, out_rate: int) -> None:
        self.fmt = fmt
        self._resampler = Resampler(fmt.rate, out_rate, quality="MQ")

    def process(self, data: bytes) -> bytes:
        return self._resampler.process(self.fmt.to_pcm16(data))


class Encoder:
    """pcm16 at `in_rate` → wire audio in `fmt`, streaming. `flush()` ends one utterance."""

    def __init__(self, fmt: AudioFormat, in_rate: int) -> None:
        self.fmt = fmt
        self._resampler = Resampler(in_rate, fmt.rate)

    def process(self, pcm16: bytes) -> bytes:
        return self.fmt.from_pcm16(self._resampler.process(pcm16))

    def flush(self) -> bytes:
        return self.fmt.from_pcm16(self._resampler.flush())
