"""The two dialects of the protocol: beta (also Azure Voice Live) and GA.

They differ in event names for response media, in the item events, and in the session object's shape.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Dialect(enum.Enum):
    BETA = "beta"  # OpenAI beta (`OpenAI-Beta: realtime=v1`) and Azure Voice Live
    GA = "ga"

    @classmethod
    def from_handshake(cls, path: str, headers: Mapping[str, str]) -> Dialect:
        """Before any session.update: Voice Live and beta-header clients speak beta, others GA."""
        if "voice-live" in path or "realtime=v1" in headers.get("OpenAI-Beta", ""):
            return cls.BETA
        return cls.GA

    @classmethod
    def from_session_update(cls, session: Mapping[str, Any], current: Dialect) -> Dialect:
        """A session object in the other dialect's shape switches the session to that dialect."""
        if "type" in session or "audio" in session or "output_modalities" in session:
            return cls.GA
        beta_keys = ("input_audio_format", "output_audio_format", "turn_detection", "modalities", "voice")
        if any(key in session for key in beta_keys):
            return cls.BETA
        return current


# Canonical (beta) event names → GA names, where they differ.
_GA_NAMES = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "conversation.item.created": "conversation.item.added",
}


_CANONICAL = {ga: beta for beta, ga in _GA_NAMES.items()}


def event_name(canonical: str, dialect: Dialect) -> str:
    if dialect is Dialect.GA:
        return _GA_NAMES.get(canonical, canonical)
    return canonical


def content_type(kind: str, dialect: Dialect) -> str:
    """Assistant content types: beta ``audio``/``text``, GA ``output_audio``/``output_text``."""
    if dialect is Dialect.GA and kind in ("audio", "text"):
        return "output_" + kind
    return kind


def canonical_name(name: str) -> str:
    """A server event's name in either dialect → its canonical (beta) name."""
    return _CANONICAL.get(name, name)
