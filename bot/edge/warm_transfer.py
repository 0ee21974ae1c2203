"""A warm transfer: the caller waits on hold music (what they say is still recorded, never answered)
while the bot dials an agent from the same worker; the agent hears a short summary first (who is
calling, verified or not, what they want), then the two calls' audio is joined on the worker's
conference bridge and the bot leaves the media. The bot's side of the call lasts until either
person hangs up, and then hangs up the other.

No agent (busy, declined, not answering within `agent_ring_timeout_s`, no line free, the summary
not spoken): the agent's leg is ended and the caller is back with the bot, which offers a callback.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.audio.hold_music import hold_music
from bot.edge.call_log import CallLog, Decision
from bot.edge.config import BotConfig
from bot.edge.engine_link import RealtimeTarget
from bot.edge.port import CallPort, LineDialer
from bot.edge.ringing import until_answered, until_media
from bot.edge.spoken import Connect, spoken
from bot.edge.transfer import header_value, transfer_headers

log = logging.getLogger(__name__)
HOLD_QUEUED_MS = 2000  # hold music is topped up when less than this is queued
MEDIA_WAIT_S = 5.0  # an answered agent leg whose audio does not come up this soon is given up
SUMMARY_WAIT_S = 15.0  # the engine speaking the summary (it began while the line rang)
SUMMARY_TAIL_S = 0.4  # the summary's last frames still sit in the agent's jitter buffer
BRIDGE_POLL_S = 0.2


def summary_of(caller_uri: str, args: Mapping[str, Any], caller_said: Sequence[str]) -> str:
    """What the agent hears before the caller is joined (masked: it goes through the engine)."""
    customer = str(args.get("customer_id") or "")
    who = f"customer {' '.join(customer)}, identity verified" if customer else "a caller whose identity is not verified"
    number = re.sub(r"\D", "", caller_uri.split("@", 1)[0])
    line = f" calling from {' '.join(number)}" if number else ""
    reason = header_value(str(args.get("reason") or ""), 120)
    said = header_value(" ".join(caller_said[-2:]), 240)
    parts = [f"Hello, this is the virtual assistant with a call for you: {who}{line}."]
    if reason and reason.lower() != "caller request":
        parts.append(f"Reason: {reason}.")
    if said:
        parts.append(f"They said: {said}")
    parts.append("Connecting you now.")
    return " ".join(parts)


class WarmTransfer:
    def __init__(self, call: CallPort, legs: LineDialer, bot: BotConfig, log: CallLog, target: RealtimeTarget,
                 connect: Connect) -> None:  # fmt: skip
        self.call = call
        self.legs = legs
        self.bot = bot
        self._log = log
        self._target = target
        self._connect = connect

    async def run(self, args: Mapping[str, Any], caller_said: Sequence[str]) -> CallPort | None:
        """The agent's call, joined to the caller's; None if no agent took it (the caller is off hold)."""
        uri = self.bot.transfer_target or ""
        summary = summary_of(self.call.remote_uri, args, caller_said)
        self._log.decided(Decision.AGENT_DIALED, f"warm transfer: caller on hold, dialing {uri}", target=uri)
        music = asyncio.ensure_future(self._hold_music())
        speech = asyncio.ensure_future(spoken(self._target, self.bot, [summary], self._connect))  # while it rings
        agent = self.legs.dial(uri, transfer_headers(self.call.call_id, args, caller_said))
        joined: CallPort | None = None
        try:
            if agent is None:
                return self._unavailable("no line free to dial the agent")
            failed = await until_answered(agent, self.bot.agent_ring_timeout_s)
            if failed is not None:
                return self._unavailable(f"the agent's line: {failed}")
            if not await until_media(agent, MEDIA_WAIT_S):
                return self._unavailable("the agent's audio never came up")
            try:
                (pcm,) = await asyncio.wait_for(speech, SUMMARY_WAIT_S)
            except (ConnectionError, OSError, TimeoutError) as exc:
                return self._unavailable(f"the summary could not be spoken ({exc})")
            agent.media.playout.push("summary", pcm)
            agent.media.playout.finish("summary")
            await _played(agent)
            if not (agent.alive and self.call.alive):
                return self._unavailable("the agent hung up during the summary")
            music.cancel()
            self.call.media.playout.clear()
            if not self.call.bridge(agent):
                return self._unavailable("the calls could not be joined")
            self._log.decided(Decision.AGENT_JOINED, f"agent {agent.call_id} heard the summary and was joined",
                              agent_call_id=agent.call_id, summary_ms=len(pcm) // 16)  # fmt: skip
            self._log.note(agent_call_id=agent.call_id, transfer="warm")
            joined = agent
            return joined
        finally:
            for task in (music, speech):
                task.cancel()
            music_ended, _ = await asyncio.gather(music, speech, return_exceptions=True)
            if isinstance(music_ended, Exception):  # (the summary's failure was handled above)
                log.error("call %s: hold music failed", self.call.call_id, exc_info=music_ended)
            if joined is None:  # no agent: their line ends, and so does the hold music
                if agent is not None:
                    agent.hangup()
                self.call.media.playout.clear()

    async def held(self, agent: CallPort) -> None:
        """The joined calls, until either ends: then the other is hung up too."""
        try:
            while self.call.alive and agent.alive:  # noqa: ASYNC110 (pjsua's state, polled)
                await asyncio.sleep(BRIDGE_POLL_S)
        finally:  # (the worker stopping cancels this: both are hung up all the same)
            agent.hangup()
            self.call.hangup()

    def _unavailable(self, why: str) -> CallPort | None:
        """Logged and recorded; None (no agent) for `run` to return."""
        log.warning("call %s: warm transfer failed: %s", self.call.call_id, why)
        self._log.decided(Decision.AGENT_UNAVAILABLE, f"warm transfer failed: {why}", why=why)
        return None

    async def _hold_music(self) -> None:
        loop, n = hold_music(), 0
        playout = self.call.media.playout
        while True:
            if playout.queued_ms < HOLD_QUEUED_MS:
                playout.push(f"hold-{n}", loop)
                playout.finish(f"hold-{n}")
                n += 1
            await asyncio.sleep(0.5)


async def _played(agent: CallPort) -> None:
    while agent.media.playout.busy and agent.alive:  # noqa: ASYNC110 (drained on the media clock)
        await asyncio.sleep(0.02)
    await asyncio.sleep(SUMMARY_TAIL_S)
