"""A session's server-side MCP tool, as both protocols declare it in `tools`: ``{"type": "mcp",
"server_label": ..., "server_url": ..., "allowed_tools": [...], "require_approval": "never",
"headers": {...}, "authorization": ...}``. Checked here; the engine's client is bot/engine/mcp_tools.py.
Approvals (a person saying yes before each call) are not built: anything but "never" is refused by name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.realtime.client_events import ProtocolError

LABEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class McpServerSpec:
    label: str
    url: str
    allowed: tuple[str, ...] | None = None  # None: every tool the server lists
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_wire(cls, spec: dict[str, Any], param: str) -> McpServerSpec:
        label, url = spec.get("server_label"), spec.get("server_url")
        if not isinstance(label, str) or not LABEL.match(label):
            raise ProtocolError("invalid_value", "an mcp tool needs a server_label of letters, digits, _ or -",
                                param=f"{param}.server_label")  # fmt: skip
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise ProtocolError("invalid_value", "an mcp tool needs an http(s) server_url", param=f"{param}.server_url")
        if spec.get("require_approval", "never") != "never":
            raise ProtocolError("unsupported_parameter", "MCP approvals are not available on this engine: "
                                'use require_approval "never"', param=f"{param}.require_approval")  # fmt: skip
        allowed = spec.get("allowed_tools")
        if allowed is not None and (not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed)):
            raise ProtocolError(
                "invalid_type", "allowed_tools must be a list of tool names", param=f"{param}.allowed_tools"
            )
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ProtocolError("invalid_type", "headers must be an object of strings", param=f"{param}.headers")
        if isinstance(spec.get("authorization"), str):
            headers = {**headers, "Authorization": f"Bearer {spec['authorization']}"}
        return cls(label, url, tuple(allowed) if allowed is not None else None, tuple(sorted(headers.items())))

    def to_wire(self) -> dict[str, Any]:
        # (headers and authorization are secrets the client sent: never echoed)
        return {"type": "mcp", "server_label": self.label, "server_url": self.url,
                "allowed_tools": list(self.allowed) if self.allowed is not None else None, "require_approval": "never"}  # fmt: skip
