"""A session's turn detection, as both APIs configure it: `server_vad`, OpenAI's `semantic_vad` and
Voice Live's `azure_semantic_vad*` types, with Voice Live's 2026 fields (speech_duration_ms,
remove_filler_words, end_of_utterance_detection) and GA's idle_timeout_ms; parsed with the field that
is wrong named, rendered in the shape each service documents."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.realtime.client_events import ProtocolError

SEMANTIC_TYPES = ("semantic_vad", "azure_semantic_vad", "azure_semantic_vad_en", "azure_semantic_vad_multilingual")
TURN_TYPES = ("server_vad", *SEMANTIC_TYPES)
EAGERNESS = ("low", "medium", "high", "auto")
IDLE_TIMEOUT_MS = (5000, 30000)  # OpenAI's bounds
EOU_MODELS = ("semantic_detection_v1", "semantic_detection_v1_en", "semantic_detection_v1_multilingual")
EOU_LEVELS = {"low": "low", "medium": "medium", "high": "high", "default": "auto"}  # threshold_level → eagerness


@dataclass(frozen=True)
class TurnDetection:
    type: str = "server_vad"
    threshold: float = 0.5  # 0..1, higher needs louder / clearer speech
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: str = "auto"  # semantic types: how soon a finished-sounding turn ends
    # Voice Live: speech needed before a turn starts (0: the detector's own 60 ms), fillers ("um")
    # dropped from the transcript, and end_of_utterance_detection (semantic end of turn on any type,
    # its threshold_level as the eagerness, its timeout_ms the longest a turn is held open).
    speech_duration_ms: int = 0
    remove_filler_words: bool = False
    end_of_utterance: dict[str, Any] | None = None
    idle_timeout_ms: int | None = None  # OpenAI GA: no speech this long after a reply played → timeout_triggered

    @property
    def semantic(self) -> bool:
        return self.type in SEMANTIC_TYPES or self.end_of_utterance is not None

    @property
    def hold_cap_ms(self) -> int | None:
        return (
            int(self.end_of_utterance["timeout_ms"])
            if self.end_of_utterance and "timeout_ms" in self.end_of_utterance
            else None
        )

    def to_wire(self) -> dict[str, Any]:
        extras = {"speech_duration_ms": self.speech_duration_ms, "remove_filler_words": self.remove_filler_words,
                  "end_of_utterance_detection": self.end_of_utterance, "idle_timeout_ms": self.idle_timeout_ms}  # fmt: skip
        extras = {k: v for k, v in extras.items() if v}  # (set by a Voice Live client; others never see them)
        if self.type.startswith("azure_") and self.eagerness != "auto" and self.end_of_utterance is None:
            # Voice Live's semantic VAD has no eagerness: its end-of-utterance threshold says the same
            level = next(k for k, v in EOU_LEVELS.items() if v == self.eagerness)
            extras["end_of_utterance_detection"] = {"model": EOU_MODELS[0], "threshold_level": level}
        if self.type.startswith("azure_"):
            return {"type": self.type, "threshold": self.threshold, "prefix_padding_ms": self.prefix_padding_ms,
                    "silence_duration_ms": self.silence_duration_ms, "create_response": self.create_response,
                    "interrupt_response": self.interrupt_response, **extras}  # fmt: skip
        if self.type in SEMANTIC_TYPES:
            return {"type": self.type, "eagerness": self.eagerness, "create_response": self.create_response,
                    "interrupt_response": self.interrupt_response, **extras}  # fmt: skip
        return {
            "type": self.type,
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
            **extras,
        }


def turn_detection(value: Any, param: str) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError("invalid_type", "turn_detection must be an object or null", param=param)
    kind = value.get("type", "server_vad")
    if kind == "none":
        return None
    if kind not in TURN_TYPES:
        raise ProtocolError(
            "invalid_value",
            f"turn_detection type {kind!r} is not supported; use server_vad, semantic_vad or null",
            param=f"{param}.type",
        )
    base = TurnDetection()
    try:
        td = TurnDetection(
            type=kind,
            threshold=float(value.get("threshold", base.threshold)),
            prefix_padding_ms=int(value.get("prefix_padding_ms", base.prefix_padding_ms)),
            silence_duration_ms=int(value.get("silence_duration_ms", base.silence_duration_ms)),
            create_response=bool(value.get("create_response", base.create_response)),
            interrupt_response=bool(value.get("interrupt_response", base.interrupt_response)),
            eagerness=str(value.get("eagerness", "auto")),
            speech_duration_ms=int(value.get("speech_duration_ms", 0)),
            remove_filler_words=bool(value.get("remove_filler_words", False)),
        )
    except (TypeError, ValueError):
        raise ProtocolError("invalid_type", "turn_detection fields must be numbers and booleans", param=param) from None
    idle = value.get("idle_timeout_ms")
    if idle is not None:
        if not isinstance(idle, int) or isinstance(idle, bool) or not IDLE_TIMEOUT_MS[0] <= idle <= IDLE_TIMEOUT_MS[1]:
            raise ProtocolError("invalid_value", f"idle_timeout_ms must be between {IDLE_TIMEOUT_MS[0]} and "
                                f"{IDLE_TIMEOUT_MS[1]}", param=f"{param}.idle_timeout_ms")  # fmt: skip
        td = replace(td, idle_timeout_ms=idle)
    if value.get("auto_truncate"):
        raise ProtocolError("invalid_value", "auto_truncate is not supported: truncate the reply with "
                            "conversation.item.truncate at what was played", param=f"{param}.auto_truncate")  # fmt: skip
    if (eou := _end_of_utterance(value.get("end_of_utterance_detection"), param)) is not None:
        td = replace(td, end_of_utterance=eou)
    if td.end_of_utterance is not None and "eagerness" not in value:
        td = replace(td, eagerness=EOU_LEVELS[str(td.end_of_utterance.get("threshold_level", "default"))])
    if td.eagerness not in EAGERNESS:
        raise ProtocolError("invalid_value", f"eagerness must be one of {', '.join(EAGERNESS)}",
                            param=f"{param}.eagerness")  # fmt: skip
    if not 0.0 <= td.threshold <= 1.0:
        raise ProtocolError("invalid_value", "threshold must be between 0 and 1", param=f"{param}.threshold")
    if min(td.silence_duration_ms, td.prefix_padding_ms, td.speech_duration_ms) < 0:
        raise ProtocolError("invalid_value", "durations must not be negative", param=param)
    return td


def _end_of_utterance(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    where = f"{param}.end_of_utterance_detection"
    if not isinstance(value, dict):
        raise ProtocolError("invalid_type", "end_of_utterance_detection must be an object", param=where)
    if value.get("model", EOU_MODELS[0]) not in EOU_MODELS:
        raise ProtocolError("invalid_value", f"end of utterance model must be one of {', '.join(EOU_MODELS)}",
                            param=f"{where}.model")  # fmt: skip
    if value.get("threshold_level", "default") not in EOU_LEVELS:
        raise ProtocolError("invalid_value", "threshold_level must be low, medium, high or default",
                            param=f"{where}.threshold_level")  # fmt: skip
    timeout = value.get("timeout_ms", 1000)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout <= 60_000:
        raise ProtocolError(
            "invalid_value", "timeout_ms must be a whole number of ms, up to 60000", param=f"{where}.timeout_ms"
        )
    return {"model": value.get("model", EOU_MODELS[0]), "threshold_level": value.get("threshold_level", "default"),
            "timeout_ms": timeout}  # fmt: skip
