"""The SSML a Speech SDK sends to synthesise (``<speak><voice name=…><prosody rate=… volume=…>…``), read
into what the offline voice can do: text pieces with their rate and volume, and breaks. Parsed with
the standard library's ElementTree; elements it does not know contribute their text (``say-as``,
``mstts:express-as``, ``emphasis``...). Pitch is a factor on the voice's own (bot/engine/speech/aligned_voice.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

MAX_SSML_CHARS = 64_000
_RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.75}
_VOLUMES = {"silent": 0.0, "x-soft": 0.25, "soft": 0.5, "medium": 0.8, "default": 1.0, "loud": 1.2, "x-loud": 1.5}
_PITCHES = {"x-low": 0.8, "low": 0.9, "medium": 1.0, "default": 1.0, "high": 1.1, "x-high": 1.2}
PITCH_RANGE = (0.5, 2.0)  # beyond this the shifted voice is no longer a voice
BASE_HZ = 110.0  # the offline voice's usual pitch: what "+20Hz" is relative to
_BREAKS = {"none": 0, "x-weak": 250, "weak": 500, "medium": 750, "strong": 1000, "x-strong": 1250}
MAX_BREAK_MS = 5000


class SsmlError(ValueError):
    """SSML the service would refuse: the request ends with this reason."""


@dataclass(frozen=True)
class Piece:
    text: str = ""
    rate: float = 1.0
    volume: float = 1.0
    break_ms: int = 0  # a pause instead of text
    pitch: float = 1.0


@dataclass(frozen=True)
class Speech:
    voice: str
    language: str
    pieces: list[Piece]

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.pieces if p.text)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def rate_of(value: str | None, current: float) -> float:
    """SSML prosody rate: a name, a relative "+20%" / "-10%", or a multiplier "1.2"."""
    if not value:
        return current
    value = value.strip().lower()
    if value in _RATES:
        return _RATES[value]
    if m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", value):
        return max(0.25, current * (1 + float(m.group(1)) / 100))
    if m := re.fullmatch(r"\d+(?:\.\d+)?", value):
        return max(0.25, float(m.group(0)))
    return current


def volume_of(value: str | None, current: float) -> float:
    """SSML prosody volume: a name, "+6dB", a relative "+10%", or an absolute 0-100."""
    if not value:
        return current
    value = value.strip().lower()
    if value in _VOLUMES:
        return _VOLUMES[value]
    if m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)db", value):
        return current * 10 ** (float(m.group(1)) / 20)
    if m := re.fullmatch(r"([+-]\d+(?:\.\d+)?)%", value):
        return max(0.0, current * (1 + float(m.group(1)) / 100))
    if m := re.fullmatch(r"\d+(?:\.\d+)?", value):
        return min(float(m.group(0)), 100.0) / 100
    return current


def pitch_of(value: str | None, current: float) -> float:
    """SSML prosody pitch as a factor: a name, a relative "+10%", semitones "-2st", a relative "+20Hz",
    an absolute "150Hz"; kept within PITCH_RANGE."""
    if not value:
        return current
    value = value.strip().lower()
    factor = current
    if value in _PITCHES:
        factor = _PITCHES[value]
    elif m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", value):
        factor = current * (1 + float(m.group(1)) / 100)
    elif m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)st", value):
        factor = current * 2 ** (float(m.group(1)) / 12)
    elif m := re.fullmatch(r"([+-])(\d+(?:\.\d+)?)hz", value):
        factor = current * (BASE_HZ + float(m.group(1) + m.group(2))) / BASE_HZ
    elif m := re.fullmatch(r"(\d+(?:\.\d+)?)hz", value):
        factor = float(m.group(1)) / BASE_HZ
    return min(max(factor, PITCH_RANGE[0]), PITCH_RANGE[1])


def _break_ms(element: ET.Element) -> int:
    time = (element.get("time") or "").strip().lower()
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", time):
        ms = float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
        return int(min(ms, MAX_BREAK_MS))
    return _BREAKS.get((element.get("strength") or "medium").lower(), 750)


def parse(ssml: str) -> Speech:
    if len(ssml) > MAX_SSML_CHARS:
        raise SsmlError(f"SSML of {len(ssml)} characters: {MAX_SSML_CHARS} at most")
    try:
        root = ET.fromstring(ssml)
    except ET.ParseError as exc:
        raise SsmlError(f"the SSML is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "speak":
        raise SsmlError("the SSML's root element is not <speak>")
    language = root.get("{http://www.w3.org/XML/1998/namespace}lang") or "en-US"
    voice = ""
    pieces: list[Piece] = []

    def add(text: str | None, rate: float, volume: float, pitch: float) -> None:
        words = " ".join((text or "").split())
        if words:
            pieces.append(Piece(words, rate, volume, pitch=pitch))

    def walk(element: ET.Element, rate: float, volume: float, pitch: float) -> None:
        nonlocal voice
        tag = _local(element.tag)
        if tag == "voice" and not voice:
            voice = element.get("name") or ""
        elif tag == "prosody":
            rate, volume = rate_of(element.get("rate"), rate), volume_of(element.get("volume"), volume)
            pitch = pitch_of(element.get("pitch"), pitch)
        if tag == "break":
            pieces.append(Piece(break_ms=_break_ms(element)))
        elif tag not in ("bookmark", "audio", "mstts:silence", "silence"):
            add(element.text, rate, volume, pitch)
        for child in element:
            walk(child, rate, volume, pitch)
            add(child.tail, rate, volume, pitch)

    walk(root, 1.0, 1.0, 1.0)
    return Speech(voice, language, pieces)
