"""What every brain takes and gives: a dialog request in, a stream of text and tool calls out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, tool: dict[str, Any]) -> ToolSpec:
        return cls(str(tool["name"]), str(tool.get("description") or ""), dict(tool.get("parameters") or {}))

    @property
    def required(self) -> list[str]:
        return [str(r) for r in self.parameters.get("required", [])]

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        props = self.parameters.get("properties", {})
        return props if isinstance(props, dict) else {}


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant", "system", "tool_call", "tool_result"]
    text: str = ""
    name: str | None = None  # tool name, for tool_call
    call_id: str | None = None
    arguments: str | None = None  # JSON, for tool_call


@dataclass(frozen=True)
class DialogRequest:
    instructions: str
    history: tuple[Turn, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | dict[str, Any] = "auto"
    response_instructions: str | None = None  # from response.create, replaces nothing, adds to instructions
    parallel_tool_calls: bool | None = None  # False: one tool call in the reply at most (None: the brain's way)

    @property
    def last(self) -> Turn | None:
        return self.history[-1] if self.history else None


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


BrainOutput = str | ToolCall  # text pieces (any size, in order) or a tool call


class Brain(Protocol):
    """One brain per session, so a brain may keep dialog state between replies."""

    def respond(self, request: DialogRequest) -> AsyncIterator[BrainOutput]:
        """Stream the reply. Cancelling the iteration is safe and ends the reply."""
        ...

    async def prepare(self, instructions: str, tools: tuple[ToolSpec, ...]) -> list[str]:
        """Get ready to answer under these instructions and tools (the session calls it in the
        background on session.update, while the greeting plays), so the first reply does not pay.
        Returns replies it is likely to give, whose openings the session has synthesized ahead."""
        ...
