"""The session's configuration: applied from `session.update` in either dialect, rendered back in it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.audio.formats import PCM16_24K, AudioFormat, AudioFormatError
from bot.realtime.client_events import ProtocolError, metadata_of
from bot.realtime.dialect import Dialect
from bot.realtime.interim_response import InterimResponse
from bot.realtime.mcp_server_spec import McpServerSpec
from bot.realtime.recognition_hints import Hints
from bot.realtime.speech_output import SpeechOutput
from bot.realtime.tool_schema import validate_tools
from bot.realtime.turn_detection import TurnDetection, turn_detection


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
    parallel_tool_calls: bool | None = None  # GA: None, the model's choice; False, one tool call a response
    max_output_tokens: int | str = "inf"
    noise_reduction: dict[str, Any] | None = None
    echo_cancellation: dict[str, Any] | None = None
    mcp_servers: tuple[McpServerSpec, ...] = ()  # server-side MCP tools (bot/engine/mcp_tools.py)
    truncation: str | dict[str, Any] = "auto"  # GA; the whole conversation is kept either way
    # Voice Live: word timestamps, visemes, voice prosody
    speech_output: SpeechOutput = field(default_factory=SpeechOutput)
    interim_response: InterimResponse | None = None  # Voice Live: a line said while the reply is slow
    metadata: dict[str, str] | None = None  # Voice Live: the client's key-value pairs, echoed and logged

    @property
    def phrase_list(self) -> tuple[str, ...]:
        """Voice Live's `input_audio_transcription.phrase_list`: words the recogniser should favour."""
        phrases = (self.transcription or {}).get("phrase_list") or ()
        return tuple(str(p) for p in phrases)

    @property
    def asr_hints(self) -> Hints:
        """The phrase list and `input_audio_transcription`'s prompt and language (both dialects), for the recogniser."""
        told = self.transcription or {}
        return Hints(self.phrase_list, str(told.get("prompt") or ""), str(told.get("language") or "en"))

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
        if {"voice", "output_audio_timestamp_types", "animation"} & s.keys():
            changes["speech_output"] = self.speech_output.updated(s)
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
        if "interim_response" in s:
            changes["interim_response"] = InterimResponse.from_wire(s["interim_response"], "session.interim_response")
        if "metadata" in s:
            changes["metadata"] = metadata_of(s["metadata"], "session.metadata")
        if "turn_detection" in s:
            changes["turn_detection"] = turn_detection(s["turn_detection"], "session.turn_detection")
        if "max_response_output_tokens" in s:
            changes["max_output_tokens"] = _max_tokens(
                s["max_response_output_tokens"], "session.max_response_output_tokens"
            )
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
            changes["max_output_tokens"] = _max_tokens(s["max_output_tokens"], "session.max_output_tokens")
        if s.get("prompt") is not None:
            raise ProtocolError("unsupported_parameter", "stored prompts (session.prompt) are not available on this "
                                "engine: send the instructions themselves", param="session.prompt")  # fmt: skip
        if "truncation" in s:
            changes["truncation"] = _truncation(s["truncation"])
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
            changes["turn_detection"] = turn_detection(inp["turn_detection"], "session.audio.input.turn_detection")
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
            raw = s["tools"] if isinstance(s["tools"], list) else validate_tools(s["tools"], "session.tools")
            mcp = [(i, t) for i, t in enumerate(raw) if isinstance(t, dict) and t.get("type") == "mcp"]
            changes["mcp_servers"] = tuple(McpServerSpec.from_wire(t, f"session.tools[{i}]") for i, t in mcp)
            changes["tools"] = tuple(
                validate_tools([t for t in raw if not any(t is m for _, m in mcp)], "session.tools")
            )
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
        if "parallel_tool_calls" in s:
            if s["parallel_tool_calls"] is not None and not isinstance(s["parallel_tool_calls"], bool):
                raise ProtocolError("invalid_type", "parallel_tool_calls must be true or false",
                                    param="session.parallel_tool_calls")  # fmt: skip
            changes["parallel_tool_calls"] = s["parallel_tool_calls"]
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
                "tools": [*self.tools, *(m.to_wire() for m in self.mcp_servers)],
                "tool_choice": self.tool_choice,
                "temperature": self.temperature,
                "max_response_output_tokens": self.max_output_tokens,
                "input_audio_noise_reduction": self.noise_reduction,
                "input_audio_echo_cancellation": self.echo_cancellation,
                **self.speech_output.to_wire(),
                **({"interim_response": self.interim_response.to_wire()} if self.interim_response else {}),
                **({"metadata": self.metadata} if self.metadata is not None else {}),
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
            "tools": [*self.tools, *(m.to_wire() for m in self.mcp_servers)],
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
            "truncation": self.truncation,
            **({"parallel_tool_calls": self.parallel_tool_calls} if self.parallel_tool_calls is not None else {}),
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


def _truncation(value: Any) -> str | dict[str, Any]:
    """GA's conversation truncation. The engine keeps the whole conversation (the offline brain has no
    context window to overflow), which each of these allows; anything else is named."""
    if value in ("auto", "disabled"):
        return str(value)
    ratio = value.get("retention_ratio") if isinstance(value, dict) and value.get("type") == "retention_ratio" else None
    if isinstance(ratio, int | float) and not isinstance(ratio, bool) and 0.0 <= ratio <= 1.0:
        return {"type": "retention_ratio", "retention_ratio": float(ratio)}
    raise ProtocolError("invalid_value", 'truncation must be "auto", "disabled" or {"type": "retention_ratio", '
                        '"retention_ratio": 0..1}', param="session.truncation")  # fmt: skip


def _max_tokens(value: Any, param: str) -> int | str:
    """A reply's token budget: 1 to 4096, or "inf" (the APIs' bounds)."""
    if value == "inf" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4096):
        return value  # type: ignore[no-any-return]
    raise ProtocolError("invalid_value", 'the token budget must be an integer from 1 to 4096, or "inf"', param=param)


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
