"""Voice Live's `interim_response` (session or response.create): a short line said while the caller
would otherwise hear silence — when the reply is slower than `latency_threshold_ms` (trigger
`latency`) or when it calls a tool (trigger `tool`). `static_interim_response` picks one of its
`texts` at random; `llm_interim_response` asks a small model for one, which the offline engine does
not have: it says one of its own stock lines instead, and tells the client so with a `warning`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bot.realtime.client_events import ProtocolError

KINDS = ("static_interim_response", "llm_interim_response")
TRIGGERS = ("latency", "tool")
DEFAULT_THRESHOLD_MS = 2000  # the service's default
STOCK = ("One moment, please.", "Let me check that for you.", "Just a second.", "Bear with me a moment.")
MAX_TEXT_CHARS = 200  # an interim line is a few words: a longer one is refused
STOCK_WARNING = {
    "message": "llm_interim_response: this engine runs offline, with no model for interim lines; it says its "
    "own stock lines instead (use static_interim_response with texts to choose them)",
    "code": "interim_response_stock_lines",
    "param": "session.interim_response.type",
}


@dataclass(frozen=True)
class InterimResponse:
    kind: str
    triggers: frozenset[str]
    latency_threshold_ms: int = DEFAULT_THRESHOLD_MS
    texts: tuple[str, ...] = ()
    wire: tuple[tuple[str, Any], ...] = ()  # as the client sent it (echoed in session.updated)

    @classmethod
    def from_wire(cls, value: Any, param: str) -> InterimResponse | None:
        """The client's object (None: off); `ProtocolError` naming the field that is wrong."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ProtocolError("invalid_type", "interim_response must be an object or null", param=param)
        kind = value.get("type")
        if kind not in KINDS:
            raise ProtocolError("invalid_value", f"interim_response.type must be one of {', '.join(KINDS)}",
                                param=f"{param}.type")  # fmt: skip
        triggers = value.get("triggers", list(TRIGGERS))
        if not isinstance(triggers, list) or not triggers or any(t not in TRIGGERS for t in triggers):
            raise ProtocolError("invalid_value", f"interim_response.triggers: a list of {', '.join(TRIGGERS)}",
                                param=f"{param}.triggers")  # fmt: skip
        threshold = value.get("latency_threshold_ms", DEFAULT_THRESHOLD_MS)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ProtocolError("invalid_value", "interim_response.latency_threshold_ms: milliseconds, 0 or more",
                                param=f"{param}.latency_threshold_ms")  # fmt: skip
        texts = value.get("texts") or []
        if kind == "static_interim_response" and (
            not isinstance(texts, list)
            or not texts
            or any(not isinstance(t, str) or not t.strip() or len(t) > MAX_TEXT_CHARS for t in texts)
        ):
            raise ProtocolError("invalid_value", "static_interim_response needs texts: a list of short lines "
                                f"(up to {MAX_TEXT_CHARS} characters each)", param=f"{param}.texts")  # fmt: skip
        return cls(kind, frozenset(triggers), threshold, tuple(t.strip() for t in texts if isinstance(t, str)),
                   tuple(value.items()))  # fmt: skip

    @property
    def stock(self) -> bool:
        """Asked for model-made lines, which this engine says from its stock instead."""
        return self.kind == "llm_interim_response"

    def line(self, rng: random.Random | None = None) -> str:
        return (rng or random).choice(self.texts or STOCK)

    def to_wire(self) -> dict[str, Any]:
        return dict(self.wire)
