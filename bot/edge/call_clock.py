"""What happens to a call with time alone: an answer never ACKed, a caller whose audio stopped, a keypad
entry that ends on a pause, a silent caller reprompted and then hung up on politely.

The policies (bot/turn_policies) decide; the clock only observes the call every `IDLE_CHECK_S` and
tells its owner (the call session) what is due. Time is the event loop's clock in ms.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.edge.config import BotConfig
from bot.edge.port import CallPort, RtpStats
from bot.turn_policies.dtmf import DtmfCollector
from bot.turn_policies.idle import IdleAction, IdlePolicy

log = logging.getLogger(__name__)
IDLE_CHECK_S = 0.25


class ClockOwner(Protocol):
    @property
    def caller_speaking(self) -> bool: ...
    @property
    def bot_active(self) -> bool: ...
    def keypad_entry(self, entry: str) -> None: ...
    def say(self, text: str) -> None: ...
    def say_goodbye(self, text: str, outcome: str) -> None: ...
    def finish(self, outcome: str) -> None: ...


def now_ms() -> float:
    return asyncio.get_running_loop().time() * 1000


class CallClock:
    def __init__(self, call: CallPort, bot: BotConfig, idle: IdlePolicy, keypad: DtmfCollector) -> None:
        self.call = call
        self.bot = bot
        self.idle = idle
        self.keypad = keypad
        self.confirmed = asyncio.Event()  # the caller's ACK came
        self.rtp: RtpStats | None = None  # the caller's stream, as last sampled

    async def watch_ack(self, owner: ClockOwner) -> None:
        """An answer the caller never ACKs (a scanner, a broken or spoofed INVITE) must not hold the
        call's engine session and record for pjsip's 32 s: after `ack_timeout_s` the call ends, outcome
        `no_ack`. (pjsip's BYE still waits until it gives up on the ACK: RFC 3261 15 forbids one before.)"""
        if not self.bot.ack_timeout_s:
            return
        try:
            await asyncio.wait_for(self.confirmed.wait(), self.bot.ack_timeout_s)
        except TimeoutError:
            log.warning("call %s: no ACK %.0f s after the answer; hanging up", self.call.call_id,
                        self.bot.ack_timeout_s)  # fmt: skip
            owner.finish("no_ack")

    async def run(self, owner: ClockOwner) -> None:
        heard, heard_at = self.call.rtp_received(), now_ms()
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            now = now_ms()
            self.rtp = self.call.rtp_stats() or self.rtp  # (the last one seen: gone once the caller hung up)
            if (packets := self.call.rtp_received()) != heard:
                heard, heard_at = packets, now
            elif self.bot.media_timeout_s and now - heard_at >= self.bot.media_timeout_s * 1000:
                log.warning("call %s: no audio from the caller for %.0f s; hanging up", self.call.call_id,
                            (now - heard_at) / 1000)  # fmt: skip
                owner.finish("media_timeout")
                return
            entry = self.keypad.due(now)
            if entry:
                owner.keypad_entry(entry)
            if not self.bot.idle_timeout_ms:
                continue
            if owner.caller_speaking:
                self.idle.caller_active(now)
            elif owner.bot_active:
                self.idle.bot_speaking()
            else:
                self.idle.quiet(now)
            action = self.idle.due(now)
            if action is IdleAction.REPROMPT:
                owner.say(self.bot.reprompt)
            elif action is IdleAction.HANG_UP:
                owner.say_goodbye(self.bot.idle_goodbye, "idle_hangup")
