"""What the bot does to the call once its last words have reached the caller: hang up, transfer
(a blind REFER with the context for the agent), or press keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.edge.call_log import CallLog, Decision
from bot.edge.config import BotConfig
from bot.edge.port import CallPort
from bot.edge.transfer import transfer_headers

log = logging.getLogger(__name__)
PLAYOUT_POLL_S = 0.02
PLAYOUT_TAIL_S = 0.4  # the last frames still sit in the far end's jitter buffer when ours is empty


class CallActions:
    def __init__(self, call: CallPort, bot: BotConfig, log: CallLog) -> None:
        self.call = call
        self.bot = bot
        self._log = log

    async def after_last_words(self, action: str, args: dict[str, Any], caller_said: Sequence[str]) -> str | None:
        """Wait for the playout to drain (at most `goodbye_grace_s`), then act. Returns the call's
        outcome when the action ends it."""
        await self.when_played()
        if action == "hangup":
            self.call.hangup()
            return str(args.get("outcome", "completed"))
        if action == "transfer":
            self.transfer(args, caller_said)
        elif action == "send_dtmf":
            digits = str(args.get("digits", ""))
            self._log.decided(Decision.KEYS_SENT, f"sent keys {digits}", digits=digits)
            self.call.send_dtmf(digits)
        return None

    async def when_played(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.bot.goodbye_grace_s
        # The playout drains on the media clock, which must not touch asyncio objects: poll it.
        while self.call.media.playout.busy and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(PLAYOUT_POLL_S)
        await asyncio.sleep(PLAYOUT_TAIL_S)

    def transfer(self, args: dict[str, Any], caller_said: Sequence[str]) -> None:
        target = self.bot.transfer_target
        if not target:
            log.warning("call %s: transfer asked but no transfer target configured", self.call.call_id)
            return
        self._log.decided(Decision.TRANSFER, f"transfer to {target}", target=target)
        self.call.transfer(target, transfer_headers(self.call.call_id, args, caller_said))
