"""Voice Live events checked against the models of Microsoft's Voice Live SDK (azure-ai-voicelive): its
own server events (those OpenAI's protocol lacks: word timestamps, visemes, warnings, MCP...), and
every client event (`validate_client`: what our edge sends a Voice Live service). A type it knows,
every field it declares required present, no field it does not declare, each field of the type it
declares — nested models, lists of them and unions (a model's `type` picks its subclass) included."""

from __future__ import annotations

import enum
import re
import sys
import typing
from typing import Any

from azure.ai.voicelive import _unions, models
from azure.ai.voicelive._utils.model_base import Model  # (the SDK's base of every model)

EVENTS: dict[str, Any] = dict(models.ServerEvent.__mapping__)
CLIENT_EVENTS: dict[str, Any] = dict(models.ClientEvent.__mapping__)
_REQUIRED = re.compile(r":ivar (\w+): Required\.")


def validate(event: dict[str, Any]) -> None:
    kind = event.get("type")
    model = EVENTS.get(str(kind))
    assert model is not None, f"{kind} is not a Voice Live server event"
    _check_model(model, event, str(kind))


def validate_client(event: dict[str, Any]) -> None:
    kind = event.get("type")
    model = CLIENT_EVENTS.get(str(kind))
    assert model is not None, f"{kind} is not a Voice Live client event"
    _check_model(model, event, str(kind))


def _check_model(model: type, value: dict[str, Any], where: str) -> None:
    """Every field the model declares required present, none it does not declare, each of its type."""
    module = sys.modules[model.__module__]
    hints = typing.get_type_hints(model, globalns={**vars(module), "_models": models, "_unions": _unions})
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
        failed = []
        for option in (a for a in args if a is not type(None)):
            try:
                _check(option, value, where)
                return
            except AssertionError as exc:
                failed.append(str(exc))
        raise AssertionError(f"{where}: {value!r} fits none of its types: {failed}")
    if origin is typing.Literal:
        allowed = {a.value if isinstance(a, enum.Enum) else a for a in args}
        assert value in allowed, f"{where}: {value!r} is not one of {sorted(map(str, allowed))}"
    elif origin is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, element in enumerate(value):
            _check(args[0], element, f"{where}[{i}]")
    elif origin is dict or hint is Any:
        assert hint is Any or isinstance(value, dict), f"{where}: {value!r} is not an object"
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        assert value in {m.value for m in hint}, f"{where}: {value!r} is not one of {[m.value for m in hint]}"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an int"
    elif hint is float:
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
    elif hint in (str, bool):
        assert isinstance(value, hint), f"{where}: {value!r} is not a {hint.__name__}"
    elif isinstance(hint, type) and issubclass(hint, Model):
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        mapping = getattr(hint, "__mapping__", None) or {}
        key = next((value[k] for k in ("type", "model") if isinstance(value.get(k), str) and value[k] in mapping), None)
        model = mapping[key] if key is not None else hint  # (a discriminated base: the subclass its value names)
        _check_model(model, value, where)  # (a nested model: its own fields checked the same way)
