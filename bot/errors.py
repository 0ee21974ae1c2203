"""The one error root of the project; each error says whether a retry can help."""

from __future__ import annotations


class VoicebotError(Exception):
    """Root of every error this project raises on purpose."""

    retryable: bool = False


class ConfigError(VoicebotError, ValueError):
    """A setting or a model file is missing or wrong; retrying will not help."""


class OverloadedError(VoicebotError, RuntimeError):
    """A bounded resource is full right now; the same request may succeed later."""

    retryable = True


class SpeechServiceError(VoicebotError, RuntimeError):
    """A speech service (Azure Speech) refused or failed a recognition or a synthesis: a bad key, a
    quota, the network. A later request may succeed."""

    retryable = True
