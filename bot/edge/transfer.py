"""A blind transfer's REFER headers: the agent's desktop gets the context, so the caller need not
repeat themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.redact import redact


def header_value(text: str, limit: int = 200) -> str:
    """Free text made safe for one SIP header line: masked, no line breaks, bounded."""
    return redact(" ".join(text.split()))[:limit]


def transfer_headers(call_id: str, args: Mapping[str, Any], caller_said: Sequence[str]) -> dict[str, str]:
    return {
        "X-Voicebot-Call-Id": call_id,
        "X-Voicebot-Reason": header_value(str(args.get("reason", ""))),
        "X-Voicebot-Customer": str(args.get("customer_id") or "unverified"),
        "X-Voicebot-Summary": header_value(" / ".join(caller_said[-3:])),
    }
