"""Voice Live's own server events (those OpenAI's protocol lacks: word timestamps, visemes, warnings,
MCP...) checked against the models of Microsoft's Voice Live SDK (azure-ai-voicelive): a type it
knows, every field it declares required present, no field it does not declare, and each field of the
Python type it declares (str, int, float, bool, a literal's values)."""

from __future__ import annotations

import enum
import re
import sys
import typing
from typing import Any

from azure.ai.voicelive import models
from azure.ai.voicelive._utils.model_base import Model  # (the SDK's base of every model)

EVENTS: dict[str, Any] = dict(models.ServerEvent.__mapping__)
_REQUIRED = re.compile(r":ivar (\w+): Required\.")


def validate(event: dict[str, Any]) -> None:
    kind = event.get("type")
    model = EVENTS.get(str(kind))
    assert model is not None, f"{kind} is not a Voice Live server event"
    _check_model(model, event, str(kind))


def _check_model(model: type, value: dict[str, Any], where: str) -> None:
    """Every field the model declares required present, none it does not declare, each of its type."""
    module = sys.modules[model.__module__]
    hints = typing.get_type_hints(model, globalns={**vars(module), "_models": models})
    declared = {name for name in hints if not name.startswith("_")}
    required = set(_REQUIRED.findall(model.__doc__ or ""))
    missing, unknown = required - value.keys(), value.keys() - declared
    assert not missing and not unknown, f"{where}: missing {sorted(missing)}, not in the model {sorted(unknown)}"
    for name, field_value in value.items():
        _check(hints[name], field_value, f"{where}.{name}")


def _check(hint: Any, value: Any, where: str) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        allowed = {a.value if isinstance(a, enum.Enum) else a for a in args}
        assert value in allowed, f"{where}: {value!r} is not one of {sorted(map(str, allowed))}"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an int"
    elif hint is float:
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
    elif hint in (str, bool):
        assert isinstance(value, hint), f"{where}: {value!r} is not a {hint.__name__}"
    elif isinstance(hint, type) and issubclass(hint, Model) and value is not None:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        _check_model(hint, value, where)  # (a nested model: its own fields checked the same way)
