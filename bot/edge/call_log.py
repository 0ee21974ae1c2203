"""A call's record as the session keeps it: the record in Redis (bot/state.py), the transcript, and
what the edge decided, each decision a typed entry (`Decision`: its kind and figures) beside the
words a person reads in `voicebot calls`. Tests and tools read the kinds and figures, never the words.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections import deque

from bot.call_metrics import (
    CALL_SETUP,
    CALLS,
    CALLS_ACTIVE,
    DECISIONS,
    PLAYOUT_DROPPED,
    PLAYOUT_UNDERRUNS,
    REPLY_GAP,
    RTP_DISCARDED,
    RTP_LOST,
    RTP_RECEIVED,
)
from bot.edge.port import CallMedia, CallPort, RtpStats
from bot.state import CallStore

log = logging.getLogger(__name__)
MAX_DECISIONS = 1000  # kept in memory per call (the newest); Redis keeps them all
MAX_GAPS = 200  # reply gaps kept for the call's record (the first ones; the histogram sees them all)


class Decision(enum.Enum):
    PAUSED = "paused"  # caller speech over the bot: its reply is held (played_ms, item_id)
    RESUMED = "resumed"  # the hold ended: a backchannel or noise, the bot goes on
    INTERRUPTED = "interrupted"  # the reply is dropped and truncated (played_ms, item_id)
    ECHO_IGNORED = "echo_ignored"  # a turn only the engine heard while the bot spoke: its own echo
    KEYS_SENT = "keys_sent"  # the bot pressed keys (digits)
    TRANSFER = "transfer"  # a REFER to (target)
    ENGINE_LOST = "engine_lost"  # the engine connection failed mid-call: the edge holds and reconnects
    ENGINE_BACK = "engine_back"  # reconnected after (lost_ms), (items) of the conversation replayed
    ENGINE_GONE = "engine_gone"  # no engine within the reconnect window: apology, then transfer or end
    AGENT_DIALED = "agent_dialed"  # a warm transfer: the caller on hold, the agent's line ringing (target)
    AGENT_JOINED = "agent_joined"  # the agent heard the summary and was joined to the caller (agent_call_id)
    AGENT_UNAVAILABLE = "agent_unavailable"  # no agent took the call (why): the caller is back with the bot
    AMD = "amd"  # an outbound call's callee: a person or a machine (verdict, decided_ms)
    PCI_PAUSED = "pci_paused"  # a flow collects card data: the recording holds silence
    PCI_RESUMED = "pci_resumed"  # card data taken (or the flow gave up): the recording goes on


class CallLog:
    def __init__(self, store: CallStore | None, call: CallPort, worker: str) -> None:
        self.store = store
        self.call = call
        self.worker = worker
        self.started = time.time()
        self.decisions: deque[tuple[Decision, dict[str, str | int]]] = deque(maxlen=MAX_DECISIONS)  # the newest
        self.dial_id: str | None = None  # a call we placed: its request (bot/dialer.py) follows the call
        self.direction = "inbound"
        self._counted = False  # in voicebot_calls_active (bot/call_metrics.py)
        self.reply_gaps: list[tuple[int, int]] = []  # (at_ms, gap_ms) per reply: bot/edge/reply_gap.py

    async def admit(self, limit: int) -> bool:
        """Room for this call under the limit across all workers (0: no limit)."""
        return not (self.store and limit) or await self.store.admit(self.call.call_id, limit)

    def ringing(self) -> None:
        self._up()
        if self.store:
            self.store.call_started(self.call.call_id, self.call.remote_uri, self.call.local_uri, self.worker)

    def dialing(self) -> None:
        """A call we placed: from us (local URI) to the callee (remote URI)."""
        self.direction = "outbound"
        self._up()
        if self.store:
            self.store.call_started(self.call.call_id, self.call.local_uri, self.call.remote_uri, self.worker,
                                    direction="outbound", dial_id=self.dial_id or "")  # fmt: skip
            self._dial(state="ringing", call_id=self.call.call_id, worker=self.worker)

    def answered(self) -> None:
        CALL_SETUP.labels(self.direction).observe(time.time() - self.started)
        if self.store:
            self.store.call_answered(self.call.call_id)
            self._dial(state="answered", answered=time.time())

    def note(self, **fields: str | int) -> None:
        """More about the call in its record (the SIP status of a call never answered, say)."""
        if self.store:
            self.store.call_fields(self.call.call_id, fields)
            self._dial(**fields)

    def _up(self) -> None:
        if not self._counted:
            self._counted = True
            CALLS_ACTIVE.labels(self.direction).inc()

    def _dial(self, **fields: str | int | float) -> None:
        if self.store and self.dial_id:
            self.store.dial_state(self.dial_id, fields)

    def said(self, role: str, text: str) -> None:
        """A line of the transcript: caller, bot, tool, dtmf."""
        if self.store:
            self.store.transcript(self.call.call_id, role, text)

    def decided(self, decision: Decision, text: str, **figures: str | int) -> None:
        log.info("call %s: %s", self.call.call_id, text)
        DECISIONS.labels(decision.value).inc()
        self.decisions.append((decision, figures))
        if self.store:
            self.store.transcript(self.call.call_id, "system", text, event=decision.value, data=figures)

    def replied(self, at_ms: int, gap_ms: int) -> None:
        """The bot's reply reached the line `gap_ms` after the caller's last voiced frame."""
        REPLY_GAP.observe(gap_ms / 1000)
        if len(self.reply_gaps) < MAX_GAPS:
            self.reply_gaps.append((at_ms, gap_ms))

    def pci(self, on: bool, at_ms: int) -> None:
        """The recording paused for card data (`on`) or resumed, `at_ms` into it."""
        if on:
            self.decided(Decision.PCI_PAUSED, "recording paused: card details being taken", at_ms=at_ms)
        else:
            self.decided(Decision.PCI_RESUMED, "recording resumed", at_ms=at_ms)

    def ended(self, outcome: str, media: CallMedia, rtp: RtpStats | None = None) -> None:
        if self.reply_gaps:
            self.note(reply_gaps=json.dumps(self.reply_gaps, separators=(",", ":")))
        if rtp is not None:  # (the stream as last sampled: it is gone once the caller hung up)
            RTP_RECEIVED.inc(rtp.received)
            RTP_LOST.inc(max(0, rtp.lost))
            RTP_DISCARDED.inc(max(0, rtp.discarded))
            self.note(rtp_received=rtp.received, rtp_lost=rtp.lost, rtp_discarded=rtp.discarded)
        log.info("call %s ended: %s after %.1f s; caller frames %d, playout underruns %d, dropped %d",
                 self.call.call_id, outcome, time.time() - self.started, media.inbound.received,
                 media.playout.underruns, media.playout.dropped)  # fmt: skip
        CALLS.labels(self.direction, outcome).inc()
        PLAYOUT_UNDERRUNS.inc(media.playout.underruns)
        PLAYOUT_DROPPED.inc(media.playout.dropped)
        if self._counted:
            self._counted = False
            CALLS_ACTIVE.labels(self.direction).dec()
        if self.store:
            self.store.call_ended(self.call.call_id, outcome, self.started)
            self._dial(state="ended", outcome=outcome, ended=time.time())
