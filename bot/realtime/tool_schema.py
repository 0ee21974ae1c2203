"""Function tools as the real APIs take them in session.update and response.create, checked before a
session uses them: every problem named by its place (``session.tools[2].parameters.properties.x``)."""

from __future__ import annotations

import re
from typing import Any

from bot.realtime.client_events import ProtocolError

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
