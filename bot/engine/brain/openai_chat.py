"""A brain over any OpenAI-compatible chat-completions endpoint with tools (OpenAI, Azure OpenAI, vLLM,
llama.cpp server): text is streamed as it arrives, so the first sentence reaches TTS early."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec, Turn
from bot.errors import ConfigError
from bot.settings import Settings

VOICE_STYLE = "You are speaking on a phone call: answer in one to three short spoken sentences, no markdown."


class OpenAIChatBrain:
    def __init__(self, settings: Settings) -> None:
        if not settings.brain_base_url and not settings.brain_api_key:
            raise ConfigError("brain=openai needs VOICEBOT_BRAIN_BASE_URL and/or VOICEBOT_BRAIN_API_KEY")
        key = settings.brain_api_key.get_secret_value() if settings.brain_api_key else "unused"
        self._client = AsyncOpenAI(base_url=settings.brain_base_url, api_key=key, max_retries=1, timeout=20.0)
        self._model = settings.brain_model
        self._max_tokens = settings.brain_max_tokens

    async def prepare(self, instructions: str, tools: tuple[ToolSpec, ...]) -> list[str]:
        """Nothing to get ready, nothing known of its replies: the model is behind an API."""
        return []

    async def respond(self, request: DialogRequest) -> AsyncIterator[BrainOutput]:
        kwargs: dict[str, Any] = {}
        if request.tools and request.tool_choice != "none":
            kwargs["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.parameters or {"type": "object", "properties": {}}}}
                for t in request.tools
            ]  # fmt: skip
            choice = request.tool_choice
            kwargs["tool_choice"] = (
                {"type": "function", "function": {"name": choice["name"]}} if isinstance(choice, dict) else choice
            )
            if request.parallel_tool_calls is not None:
                kwargs["parallel_tool_calls"] = request.parallel_tool_calls
        # **kwargs defeats the SDK's overloads on `stream`; the cast restores what stream=True returns.
        stream = cast(
            AsyncStream[ChatCompletionChunk],
            await self._client.chat.completions.create(
                model=self._model,
                messages=cast(Any, messages(request)),
                stream=True,
                max_tokens=self._max_tokens,
                **kwargs,
            ),
        )
        calls: dict[int, dict[str, str]] = {}
        async for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                yield delta.content
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
        for call in calls.values():
            try:
                args = json.loads(call["arguments"] or "{}")
            except ValueError:
                args = {"_unparsed": call["arguments"]}
            yield ToolCall(call["name"], args if isinstance(args, dict) else {"value": args})


def messages(request: DialogRequest) -> list[dict[str, Any]]:
    system = "\n\n".join(p for p in (request.instructions, VOICE_STYLE, request.response_instructions) if p)
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for turn in request.history:
        out.append(_message(turn))
    return out


def _message(turn: Turn) -> dict[str, Any]:
    if turn.role == "tool_call":
        call = {"id": turn.call_id, "type": "function", "function": {"name": turn.name, "arguments": turn.arguments}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if turn.role == "tool_result":
        return {"role": "tool", "tool_call_id": turn.call_id, "content": turn.text}
    return {"role": turn.role, "content": turn.text}
