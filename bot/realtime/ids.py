"""Ids shaped like the real API's: a prefix and 21 base62 characters (e.g. ``item_BJhGV3xk...``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(21))


def event_id() -> str:
    return new_id("event")


def item_id() -> str:
    return new_id("item")


def response_id() -> str:
    return new_id("resp")


def session_id() -> str:
    return new_id("sess")


def call_id() -> str:
    return new_id("call")
