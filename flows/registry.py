"""The tool registry: a decorator turns a typed async function into a Realtime tool.

The JSON schema comes from the function's type hints (pydantic), the description and example
phrases from the decorator. Calls are validated, time-limited, and every failure comes back as an
output the bot can speak — never as an exception into the call.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, create_model

from bot.errors import VoicebotError

log = logging.getLogger(__name__)
Action = Literal["hangup", "transfer", "send_dtmf"]


class FlowError(VoicebotError):
    """A business system failed; the tool call becomes a spoken apology, the call goes on."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns: output for the engine, and an optional action for the call."""

    output: dict[str, Any]
    action: Action | None = None
    action_args: dict[str, Any] = field(default_factory=dict)
    pci: bool | None = None  # True: card data is being taken from now on (the recording pauses); False: done


@dataclass(frozen=True)
class CallContext:
    """What a handler may know about the call it serves."""

    call_id: str
    caller: str
    callee: str


Handler = Callable[..., Awaitable[ToolResult | dict[str, Any]]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    examples: tuple[str, ...]
    model: type[BaseModel]
    handler: Handler
    timeout_s: float
    wants_context: bool

    def schema(self) -> dict[str, Any]:
        """The Realtime `tools` entry. Examples ride in the description (the offline brain reads them)."""
        params = self.model.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        description = self.description
        if self.examples:
            description += " Examples: " + "; ".join(self.examples)
        return {"type": "function", "name": self.name, "description": description, "parameters": params}


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def tool(
        self, description: str, *, examples: tuple[str, ...] = (), timeout_s: float = 5.0, name: str | None = None
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            sig = inspect.signature(fn)
            fields: dict[str, Any] = {}
            wants_context = False
            for pname, param in sig.parameters.items():
                if param.annotation in (CallContext, "CallContext"):
                    wants_context = True
                    continue
                default = ... if param.default is inspect.Parameter.empty else param.default
                fields[pname] = (param.annotation, default)
            tool_name = name or fn.__name__
            model = create_model(f"{tool_name}_args", **fields)
            self._tools[tool_name] = Tool(tool_name, description, examples, model, fn, timeout_s, wants_context)
            return fn

        return register

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.schema() for tool in self._tools.values()]

    def names(self) -> list[str]:
        return list(self._tools)

    async def call(self, name: str, arguments: str, context: CallContext) -> ToolResult:
        """Run a tool call from the engine. Never raises: failures become spoken-friendly outputs."""
        tool = self._tools.get(name)
        if tool is None:
            log.error("call %s: engine asked for unknown tool %r", context.call_id, name)
            return ToolResult({"error": f"I can't do {name.replace('_', ' ')} here."})
        try:
            raw = json.loads(arguments or "{}")
            args = tool.model.model_validate(raw)
        except (ValueError, ValidationError) as exc:
            log.error("call %s: bad arguments for %s: %s", context.call_id, name, exc)
            return ToolResult({"error": "some details were missing or unclear, could you say them again"})
        kwargs = dict(args)
        if tool.wants_context:
            kwargs["context"] = context
        try:
            result = await asyncio.wait_for(tool.handler(**kwargs), tool.timeout_s)
        except TimeoutError:
            log.error("call %s: tool %s timed out after %.1f s", context.call_id, name, tool.timeout_s)
            return ToolResult({"error": "that system is not answering just now, please try again later"})
        except Exception:
            log.exception("call %s: tool %s failed", context.call_id, name)
            return ToolResult({"error": "I couldn't reach that system just now"})
        return result if isinstance(result, ToolResult) else ToolResult(result)
