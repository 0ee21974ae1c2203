"""Kamailio's JSON-RPC over its datagram socket (module jsonrpcs, a Unix socket in its run directory),
for what the supervisor asks of the front door: end the dialogs of a worker that died, whose callers
would otherwise wait in dead air (a killed process sends no BYE)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
TIMEOUT_S = 2.0
MAX_REPLY = 1 << 16


class RpcError(Exception):
    """Kamailio answered with an error, or not at all."""


def _call(path: Path, method: str, params: list[Any]) -> Any:
    with tempfile.TemporaryDirectory(prefix="voicebot-rpc-") as tmp, socket.socket(socket.AF_UNIX,
                                                                                   socket.SOCK_DGRAM) as sock:  # fmt: skip
        sock.bind(os.path.join(tmp, "client.sock"))  # the reply comes back to this address
        sock.settimeout(TIMEOUT_S)
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        try:
            sock.sendto(json.dumps(request).encode(), str(path))
            reply = json.loads(sock.recv(MAX_REPLY))
        except (OSError, ValueError) as exc:
            raise RpcError(f"{method}: {exc}") from exc
    if "error" in reply:
        raise RpcError(f"{method}: {reply['error']}")
    return reply.get("result")


async def rpc(path: Path, method: str, *params: Any) -> Any:
    return await asyncio.to_thread(_call, path, method, list(params))


async def end_dialogs(path: Path, call_ids: list[str]) -> int:
    """Have Kamailio send BYE on both sides of each of these calls (by SIP Call-ID). How many it ended."""
    ended = 0
    for call_id in call_ids:
        with contextlib.suppress(RpcError):
            found = await rpc(path, "dlg.dlg_list", call_id)
            for dialog in found if isinstance(found, list) else [found] if found else []:
                await rpc(path, "dlg.end_dlg", int(dialog["h_entry"]), int(dialog["h_id"]))
                ended += 1
    return ended
