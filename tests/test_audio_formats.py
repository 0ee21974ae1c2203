from __future__ import annotations

import math

import numpy as np
import pytest

from bot.audio.formats import AudioFormat, AudioFormatError, Decoder, Encoder
from bot.audio.resample import Resampler


def tone(freq: float, rate: int, ms: int) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * math.pi * freq * t) * 12000).astype(np.int16).tobytes()


def rms(pcm: bytes) -> float:
    a = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(a**2))) if len(a) else 0.0


@pytest.mark.parametrize(
    ("name", "rate", "expected"),
    [
        ("pcm16", None, AudioFormat("pcm16", 24000)),
        ("pcm16", 16000, AudioFormat("pcm16", 16000)),
        ("pcm16_8000hz", None, AudioFormat("pcm16", 8000)),
        ("g711_ulaw", None, AudioFormat("g711_ulaw", 8000)),
        ("g711_alaw", None, AudioFormat("g711_alaw", 8000)),
    ],
)
def test_beta_names(name: str, rate: int | None, expected: AudioFormat) -> None:
    assert AudioFormat.from_beta(name, rate) == expected


def test_ga_names_round_trip() -> None:
    for fmt in (AudioFormat("pcm16", 24000), AudioFormat("g711_ulaw", 8000), AudioFormat("g711_alaw", 8000)):
        assert AudioFormat.from_ga(fmt.to_ga()) == fmt


@pytest.mark.parametrize("bad", ["mp3", "pcm32", ""])
def test_unknown_format_is_a_clear_error(bad: str) -> None:
    with pytest.raises(AudioFormatError, match="unsupported"):
        AudioFormat.from_beta(bad)
    with pytest.raises(AudioFormatError):
        AudioFormat.from_ga({"type": f"audio/{bad}"})


@pytest.mark.parametrize("encoding", ["g711_ulaw", "g711_alaw"])
def test_g711_round_trip_keeps_a_tone(encoding: str) -> None:
    fmt = AudioFormat(encoding, 8000)  # type: ignore[arg-type]
    pcm = tone(440, 8000, 200)
    back = fmt.to_pcm16(fmt.from_pcm16(pcm))
    err = np.frombuffer(back, np.int16).astype(float) - np.frombuffer(pcm, np.int16)
    assert len(back) == len(pcm) and np.sqrt(np.mean(err**2)) < 0.03 * rms(pcm)


def test_streaming_resample_in_20ms_frames_matches_length_and_level() -> None:
    pcm = tone(1000, 8000, 1000)
    r = Resampler(8000, 24000)
    out = b"".join(r.process(pcm[i : i + 320]) for i in range(0, len(pcm), 320)) + r.flush()
    assert abs(len(out) - 3 * len(pcm)) <= 4
    assert abs(rms(out) - rms(pcm)) / rms(pcm) < 0.05


def test_downsampling_removes_what_8khz_cannot_carry() -> None:
    """A 5 kHz tone must not alias into the phone band (soxr filters; audioop.ratecv would not)."""
    enc = Encoder(AudioFormat("pcm16", 8000), 24000)
    out = enc.process(tone(5000, 24000, 500)) + enc.flush()
    assert rms(out) < 0.01 * rms(tone(5000, 24000, 500))


def test_odd_byte_chunks_are_carried_not_lost() -> None:
    dec = Decoder(AudioFormat("pcm16", 16000), 16000)
    pcm = tone(300, 16000, 100)
    out = dec.process(pcm[:101]) + dec.process(pcm[101:])
    assert out == pcm
