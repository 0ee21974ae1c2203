"""Where the engine's Azure Speech stages connect, from settings: a Speech container or our own engine
(``azure_speech_host``, ws://), a custom endpoint (``azure_speech_endpoint``), or the cloud service by
key and region. Checked when the engine starts, not at a caller's first turn."""

from __future__ import annotations

from typing import Any

from bot.errors import ConfigError
from bot.settings import Settings


def speech_config(settings: Settings, language: str | None = None) -> Any:
    """A fresh SpeechConfig (the SDK's configs are mutable: one per recogniser or synthesiser)."""
    try:
        import azure.cognitiveservices.speech as speechsdk
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError("VOICEBOT_ASR/TTS=azure needs the azure-cognitiveservices-speech package") from exc
    key = settings.azure_speech_key.get_secret_value() if settings.azure_speech_key else None
    if settings.azure_speech_host:
        config = speechsdk.SpeechConfig(host=settings.azure_speech_host, subscription=key)
    elif settings.azure_speech_endpoint:
        config = speechsdk.SpeechConfig(endpoint=settings.azure_speech_endpoint, subscription=key)
    elif key and settings.azure_speech_region:
        config = speechsdk.SpeechConfig(subscription=key, region=settings.azure_speech_region)
    else:
        raise ConfigError("VOICEBOT_ASR/TTS=azure needs VOICEBOT_AZURE_SPEECH_HOST (a container, ws://...), "
                          "VOICEBOT_AZURE_SPEECH_ENDPOINT, or VOICEBOT_AZURE_SPEECH_KEY with _REGION")  # fmt: skip
    if language:
        config.speech_recognition_language = language
    return config
