"""The session's configuration: applied from `session.update` in either dialect, rendered back in it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.audio.formats import PCM16_24K, AudioFormat, AudioFormatError
from bot.realtime.client_events import ProtocolError
from bot.realtime.dialect import Dialect

TURN_TYPES = ("server_vad", "semantic_vad", "azure_semantic_vad")
SEMANTIC_TYPES = ("semantic_vad", "azure_semantic_vad")
EAGERNESS = ("low", "medium", "high", "auto")


@dataclass(frozen=True)
class TurnDetection:
    type: str = "server_vad"
    threshold: float = 0.5  # 0..1, higher needs louder / clearer speech
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: str = "auto"  # semantic types: how soon a finished-sounding turn ends

    @property
    def semantic(self) -> bool:
        return self.type in SEMANTIC_TYPES

    def to_wire(self) -> dict[str, Any]:
        if self.semantic:
            return {"type": self.type, "eagerness": self.eagerness, "create_response": self.create_response,
                    "interrupt_response": self.interrupt_response}  # fmt: skip
        return {
            "type": self.type,
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
        }


@dataclass(frozen=True)
class SessionConfig:
    model: str = "voicebot-local"
    instructions: str = ""
    voice: str = "alloy"
    modalities: tuple[str, ...] = ("text", "audio")
    input_format: AudioFormat = PCM16_24K
    output_format: AudioFormat = PCM16_24K
    transcription: dict[str, Any] | None = None
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] = "auto"
    temperature: float = 0.8
    max_output_tokens: int | str = "inf"
    noise_reduction: dict[str, Any] | None = None
    echo_cancellation: dict[str, Any] | None = None

    @property
    def phrase_list(self) -> tuple[str, ...]:
        """Voice Live's `input_audio_transcription.phrase_list`: words the recogniser should favour."""
        phrases = (self.transcription or {}).get("phrase_list") or ()
        return tuple(str(p) for p in phrases)

    # --- update ---------------------------------------------------------------------------------
    def updated(self, session: dict[str, Any], dialect: Dialect) -> SessionConfig:
        """Return a new config with `session` applied; raise `ProtocolError` naming the bad field."""
        try:
            if dialect is Dialect.GA:
                return self._updated_ga(session)
            return self._updated_beta(session)
        except AudioFormatError as exc:
            raise ProtocolError("invalid_value", str(exc), param="session.audio_format") from None

    def _updated_beta(self, s: dict[str, Any]) -> SessionConfig:
        cfg = self._common(s)
        changes: dict[str, Any] = {}
        if "modalities" in s:
            changes["modalities"] = tuple(_list_of_str(s["modalities"], "session.modalities"))
        if "voice" in s:
            changes["voice"] = _voice(s["voice"])
        rate = s.get("input_audio_sampling_rate")
        if rate is not None and not isinstance(rate, int):
            raise ProtocolError(
                "invalid_type",
                "input_audio_sampling_rate must be an integer (Hz)",
                param="session.input_audio_sampling_rate",
            )
        if "input_audio_format" in s or rate is not None:
            name = s.get("input_audio_format", self.input_format.to_beta())
            changes["input_format"] = AudioFormat.from_beta(_str(name, "session.input_audio_format"), rate)
        if "output_audio_format" in s:
            changes["output_format"] = AudioFormat.from_beta(
                _str(s["output_audio_format"], "session.output_audio_format")
            )
        if "input_audio_transcription" in s:
            changes["transcription"] = _opt_dict(s["input_audio_transcription"], "session.input_audio_transcription")
        if "turn_detection" in s:
            changes["turn_detection"] = _turn_detection(s["turn_detection"], "session.turn_detection")
        if "max_response_output_tokens" in s:
            changes["max_output_tokens"] = s["max_response_output_tokens"]
        if "input_audio_noise_reduction" in s:
            changes["noise_reduction"] = _typed(
                s["input_audio_noise_reduction"], "session.input_audio_noise_reduction", NOISE_REDUCTION
            )
        if "input_audio_echo_cancellation" in s:
            changes["echo_cancellation"] = _typed(
                s["input_audio_echo_cancellation"], "session.input_audio_echo_cancellation", ECHO_CANCELLATION
            )
        return replace(cfg, **changes)

    def _updated_ga(self, s: dict[str, Any]) -> SessionConfig:
        cfg = self._common(s)
        changes: dict[str, Any] = {}
        if "output_modalities" in s:
            changes["modalities"] = tuple(_list_of_str(s["output_modalities"], "session.output_modalities"))
        if "max_output_tokens" in s:
            changes["max_output_tokens"] = s["max_output_tokens"]
        audio = _opt_dict(s.get("audio", {}), "session.audio") or {}
        inp = _opt_dict(audio.get("input", {}), "session.audio.input") or {}
        out = _opt_dict(audio.get("output", {}), "session.audio.output") or {}
        if "format" in inp:
            changes["input_format"] = AudioFormat.from_ga(inp["format"])
        if "transcription" in inp:
            changes["transcription"] = _opt_dict(inp["transcription"], "session.audio.input.transcription")
        if "noise_reduction" in inp:
            changes["noise_reduction"] = _typed(
                inp["noise_reduction"], "session.audio.input.noise_reduction", NOISE_REDUCTION
            )
        if "turn_detection" in inp:
            changes["turn_detection"] = _turn_detection(inp["turn_detection"], "session.audio.input.turn_detection")
        if "format" in out:
            changes["output_format"] = AudioFormat.from_ga(out["format"])
        if "voice" in out:
            changes["voice"] = _voice(out["voice"])
        return replace(cfg, **changes)

    def _common(self, s: dict[str, Any]) -> SessionConfig:
        changes: dict[str, Any] = {}
        if "model" in s:
            changes["model"] = _str(s["model"], "session.model")
        if "instructions" in s:
            changes["instructions"] = _str(s["instructions"], "session.instructions")
        if "tools" in s:
            changes["tools"] = tuple(validate_tools(s["tools"], "session.tools"))
        if "tool_choice" in s:
            choice = s["tool_choice"]
            if not (choice in ("auto", "none", "required") or (isinstance(choice, dict) and "name" in choice)):
                raise ProtocolError(
                    "invalid_value",
                    "tool_choice must be auto, none, required or {'type': 'function', 'name': ...}",
                    param="session.tool_choice",
                )
            changes["tool_choice"] = choice
        if "temperature" in s:
            if not isinstance(s["temperature"], int | float):
                raise ProtocolError("invalid_type", "temperature must be a number", param="session.temperature")
            changes["temperature"] = float(s["temperature"])
        return replace(self, **changes)

    # --- render ---------------------------------------------------------------------------------
    def to_wire(self, dialect: Dialect, session_id: str) -> dict[str, Any]:
        td = self.turn_detection.to_wire() if self.turn_detection else None
        if dialect is Dialect.BETA:
            return {
                "id": session_id,
                "object": "realtime.session",
                "model": self.model,
                "modalities": list(self.modalities),
                "instructions": self.instructions,
                "voice": self.voice,
                # Voice Live style: the input rate rides beside the format name.
                "input_audio_format": "pcm16" if self.input_format.encoding == "pcm16" else self.input_format.encoding,
                "input_audio_sampling_rate": self.input_format.rate,
                "output_audio_format": self.output_format.to_beta(),
                "input_audio_transcription": self.transcription,
                "turn_detection": td,
                "tools": list(self.tools),
                "tool_choice": self.tool_choice,
                "temperature": self.temperature,
                "max_response_output_tokens": self.max_output_tokens,
                "input_audio_noise_reduction": self.noise_reduction,
                "input_audio_echo_cancellation": self.echo_cancellation,
            }
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": self.model,
            "output_modalities": [m for m in self.modalities if m == "audio"] or list(self.modalities),
            "instructions": self.instructions,
            "audio": {
                "input": {
                    "format": self.input_format.to_ga(),
                    "transcription": self.transcription,
                    "noise_reduction": self.noise_reduction,
                    "turn_detection": td,
                },
                "output": {"format": self.output_format.to_ga(), "voice": self.voice, "speed": 1.0},
            },
            "tools": list(self.tools),
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
        }

    def to_update(self, dialect: Dialect) -> dict[str, Any]:
        """The client's side: the `session` of a session.update setting what a client sets
        (instructions, voice, tools, formats, transcription, turn detection, noise reduction), in the
        dialect's shape. Rendered by `to_wire`: one writer for both directions."""
        wire = self.to_wire(dialect, "")
        if dialect is Dialect.BETA:
            wire["input_audio_format"] = self.input_format.to_beta()
            session = {key: wire[key] for key in _BETA_UPDATE if wire[key] is not None or key == "turn_detection"}
            return session
        return {key: wire[key] for key in ("type", "instructions", "tools", "audio")}


_BETA_UPDATE = ("instructions", "voice", "tools", "turn_detection", "input_audio_format", "output_audio_format",
                "input_audio_transcription", "input_audio_noise_reduction")  # fmt: skip


TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_tools(value: Any, param: str) -> list[dict[str, Any]]:
    """Function tools as the real APIs take them: a name of letters, digits, _ and - (64 at most), a
    string description, and parameters that are a JSON schema object whose properties are schemas
    (strings where text is meant, `required` a list of their names). Anything else is named."""
    if not isinstance(value, list):
        raise ProtocolError("invalid_type", "tools must be a list", param=param)
    for i, tool in enumerate(value):
        where = f"{param}[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not TOOL_NAME.match(tool["name"]):
            raise ProtocolError("invalid_value", "each tool needs a 'name' of letters, digits, _ or - (64 at most)",
                                param=f"{where}.name")  # fmt: skip
        if tool.get("type", "function") != "function":
            raise ProtocolError("invalid_value", "only tools of type 'function' are supported", param=f"{where}.type")
        if not isinstance(tool.get("description", ""), str):
            raise ProtocolError("invalid_type", "a tool's description must be a string", param=f"{where}.description")
        _check_parameters(tool.get("parameters", {}), f"{where}.parameters")
    return list(value)


def _check_parameters(schema: Any, param: str) -> None:
    if not isinstance(schema, dict):
        raise ProtocolError("invalid_type", "tool parameters must be a JSON schema object", param=param)
    if schema.get("type", "object") != "object":
        raise ProtocolError("invalid_value", "tool parameters must be of type 'object'", param=f"{param}.type")
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise ProtocolError("invalid_type", "properties must be an object of schemas", param=f"{param}.properties")
    for name, prop in props.items():
        where = f"{param}.properties.{name}"
        if not isinstance(prop, dict):
            raise ProtocolError("invalid_type", "each property must be a JSON schema object", param=where)
        kind = prop.get("type", "string")
        if not (isinstance(kind, str) or (isinstance(kind, list) and all(isinstance(k, str) for k in kind))):
            raise ProtocolError("invalid_type", "a property's type must be a string or a list of them",
                                param=f"{where}.type")  # fmt: skip
        for text in ("description", "format", "pattern", "title"):
            if not isinstance(prop.get(text, ""), str):
                raise ProtocolError("invalid_type", f"a property's {text} must be a string", param=f"{where}.{text}")
        enum = prop.get("enum", [])
        if not isinstance(enum, list) or not all(isinstance(v, str | int | float | bool) for v in enum):
            raise ProtocolError("invalid_type", "enum must be a list of strings or numbers", param=f"{where}.enum")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ProtocolError("invalid_type", "required must be a list of property names", param=f"{param}.required")


def _turn_detection(value: Any, param: str) -> TurnDetection | None:
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
        )
    except (TypeError, ValueError):
        raise ProtocolError("invalid_type", "turn_detection fields must be numbers and booleans", param=param) from None
    if td.eagerness not in EAGERNESS:
        raise ProtocolError("invalid_value", f"eagerness must be one of {', '.join(EAGERNESS)}",
                            param=f"{param}.eagerness")  # fmt: skip
    if not 0.0 <= td.threshold <= 1.0:
        raise ProtocolError("invalid_value", "threshold must be between 0 and 1", param=f"{param}.threshold")
    if td.silence_duration_ms < 0 or td.prefix_padding_ms < 0:
        raise ProtocolError("invalid_value", "durations must not be negative", param=param)
    return td


def _voice(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("name"), str):  # Voice Live: {"name": ..., "type": ...}
        return str(value["name"])
    return _str(value, "session.voice")


def _str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError("invalid_type", f"{param} must be a string", param=param)
    return value


def _list_of_str(value: Any, param: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError("invalid_type", f"{param} must be a list of strings", param=param)
    return value


# Noise suppression types (OpenAI's two, Voice Live's) → webrtc noise suppression level (0-4).
NOISE_REDUCTION = {"near_field": 2, "far_field": 3, "azure_deep_noise_suppression": 3}
ECHO_CANCELLATION = {"server_echo_cancellation": 1}


def _typed(value: Any, param: str, known: dict[str, int]) -> dict[str, Any] | None:
    """An object with a `type` this engine implements, or null (off)."""
    obj = _opt_dict(value, param)
    if obj is not None and obj.get("type") not in known:
        raise ProtocolError("invalid_value", f"{param}.type must be one of {sorted(known)}", param=f"{param}.type")
    return obj


def _opt_dict(value: Any, param: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ProtocolError("invalid_type", f"{param} must be an object or null", param=param)
    return value
