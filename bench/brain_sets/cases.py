"""The language of the brain development set: what a caller says, and what the brain should do.

A dialog is a list of steps; each step is one caller turn and the one decision expected of the
brain. After a tool call the bench answers with the step's `result` (JSON) and the brain speaks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ExpectKind = Literal["call", "ask", "confirm", "clarify", "fact", "say"]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY = _Marker("ANY")  # the argument must be there, with any non-empty value (free text)
OPTIONAL = _Marker("OPTIONAL")  # the argument may be there or not


@dataclass(frozen=True)
class Expect:
    kind: ExpectKind
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    param: str | None = None  # ask: the parameter asked for
    options: tuple[str, ...] = ()  # clarify: the tools offered (at least these)
    text: str | None = None  # fact: words the answer holds; say: the kind of line


@dataclass(frozen=True)
class Step:
    caller: str
    expect: Expect
    result: str = '{"message": "All done."}'  # what the tool returns, for a call


@dataclass(frozen=True)
class ToolSet:
    name: str
    instructions: str
    tools: list[dict[str, Any]]
    dialogs: list[list[Step]]


def call(tool: str, **args: Any) -> Expect:
    return Expect("call", tool, args)


def ask(param: str) -> Expect:
    return Expect("ask", param=param)


def confirm(tool: str, **args: Any) -> Expect:
    return Expect("confirm", tool, args)


def clarify(*tools: str) -> Expect:
    return Expect("clarify", options=tools)


def fact(words: str) -> Expect:
    return Expect("fact", text=words)


def say(kind: Literal["goodbye", "welcome", "help", "repeat", "unknown", "greeting", "declined", "wait"]) -> Expect:
    return Expect("say", text=kind)


def one(caller: str, expect: Expect, result: str = '{"message": "All done."}') -> list[Step]:
    """A dialog of one caller turn."""
    return [Step(caller, expect, result)]


def fn(name: str, description: str, properties: dict[str, dict[str, Any]] | None = None,
       required: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    """A tool as the OpenAI docs declare one."""
    params: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        params["required"] = list(required)
    return {"type": "function", "name": name, "description": description, "parameters": params}
