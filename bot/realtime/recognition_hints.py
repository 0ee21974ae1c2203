"""What a session tells its recogniser, from `input_audio_transcription` (`audio.input.transcription`
in GA): words to favour (Voice Live's `phrase_list`), the transcription `prompt` and `language`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hints:
    """`phrases`: words to favour; `prompt`: free text, the call's vocabulary and style ("Acme
    Telecom, ZIP codes, order numbers"); `language`: the caller's ("en", "en-GB")."""

    phrases: tuple[str, ...] = ()
    prompt: str = ""
    language: str = "en"
