"""What Voice Live lets a session ask of the spoken reply beyond its voice's name (API 2025-10-01 and
later): word timestamps (``output_audio_timestamp_types: ["word"]`` → response.audio_timestamp.delta
/ .done), visemes (``animation: {"outputs": ["viseme_id"]}`` → response.animation_viseme.delta /
.done), and the voice's ``rate``, ``pitch`` and ``volume`` (SSML prosody values: "+10%", "1.2",
"slow", "-2st", "loud"). What the engine cannot do is refused by name (blend shapes, other
timestamp granularities)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.realtime.client_events import ProtocolError

TIMESTAMP_TYPES = ("word",)
ANIMATION_OUTPUTS = ("viseme_id",)
_PROSODY = re.compile(r"^(?:[+-]?\d+(?:\.\d+)?(?:%|st|hz|db)?|x-slow|slow|medium|fast|x-fast|x-low|low|high|x-high|"
                      r"silent|x-soft|soft|loud|x-loud|default)$", re.I)  # fmt: skip


@dataclass(frozen=True)
class SpeechOutput:
    word_timestamps: bool = False
    visemes: bool = False
    rate: str | None = None  # SSML prosody values, as the client gave them
    pitch: str | None = None
    volume: str | None = None

    @property
    def shaped(self) -> bool:
        """The reply needs more than plain synthesis: timings, visemes or prosody."""
        return self.word_timestamps or self.visemes or any((self.rate, self.pitch, self.volume))

    def updated(self, session: dict[str, Any]) -> SpeechOutput:
        changes: dict[str, Any] = {}
        if "output_audio_timestamp_types" in session:
            kinds = _strings(session["output_audio_timestamp_types"], "session.output_audio_timestamp_types")
            for kind in kinds:
                if kind not in TIMESTAMP_TYPES:
                    raise ProtocolError("invalid_value", f"audio timestamp type {kind!r} is not supported; use 'word'",
                                        param="session.output_audio_timestamp_types")  # fmt: skip
            changes["word_timestamps"] = "word" in kinds
        if "animation" in session:
            animation = session["animation"]
            if animation is not None and not isinstance(animation, dict):
                raise ProtocolError("invalid_type", "animation must be an object", param="session.animation")
            outputs = _strings((animation or {}).get("outputs", []), "session.animation.outputs")
            for output in outputs:
                if output not in ANIMATION_OUTPUTS:
                    raise ProtocolError("invalid_value", f"animation output {output!r} is not supported here; "
                                        "use 'viseme_id'", param="session.animation.outputs")  # fmt: skip
            changes["visemes"] = "viseme_id" in outputs
        voice = session.get("voice")
        if isinstance(voice, dict):
            for name in ("rate", "pitch", "volume"):
                if name in voice:
                    changes[name] = _prosody(voice[name], f"session.voice.{name}")
        return replace(self, **changes)

    def to_wire(self) -> dict[str, Any]:
        return {
            "output_audio_timestamp_types": ["word"] if self.word_timestamps else [],
            "animation": {"outputs": ["viseme_id"]} if self.visemes else None,
        }


def _strings(value: Any, param: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("invalid_type", f"{param} must be a list of strings", param=param)
    return value


def _prosody(value: Any, param: str) -> str | None:
    if value is None:
        return None
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _PROSODY.match(text.strip()):
        raise ProtocolError("invalid_value", f"{param} must be an SSML prosody value like '+10%', '1.2' or 'slow'",
                            param=param)  # fmt: skip
    return text.strip()
