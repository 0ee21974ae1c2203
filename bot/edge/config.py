"""How the bot behaves on a call: what the worker reads from settings and hands each call session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.edge.engine_link import Capabilities
from bot.realtime.turn_detection import TurnDetection


@dataclass(frozen=True)
class TurnConfig:
    """How the engine finds the end of the caller's turn, and who decides an interruption.

    With `edge_interruption` (the default) the call session owns barge-in (pause, backchannel filter,
    cancel + truncate; see bot/turn_policies/barge_in.py) and asks for each reply itself, so the
    engine is told neither to interrupt nor to reply on its own. Without it the engine does both.
    """

    kind: Literal["server_vad", "semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "high"  # semantic: how soon a finished turn ends
    silence_ms: int = 500  # server_vad
    edge_interruption: bool = True
    local_vad: bool = True  # the edge's own detector (echo-cancelled, echo-gated); else the engine's events
    echo_cancellation: bool = True  # speex AEC at the edge, the played audio as reference
    noise_reduction: bool = True  # ask the engine to suppress line noise (if it can)

    def detection(self, caps: Capabilities) -> TurnDetection:
        engine_owned = not self.edge_interruption
        if self.kind == "semantic_vad" and caps.semantic_vad:
            return TurnDetection(type=caps.semantic_vad, eagerness=self.eagerness, create_response=engine_owned,
                                 interrupt_response=engine_owned)  # fmt: skip
        return TurnDetection(type="server_vad", silence_duration_ms=self.silence_ms, create_response=engine_owned,
                             interrupt_response=engine_owned)  # fmt: skip


@dataclass(frozen=True)
class BotConfig:
    instructions: str
    voice: str = "alloy"
    transfer_target: str | None = None  # SIP URI of the human queue
    transfer_mode: Literal["cold", "warm"] = "cold"  # a REFER, or the bot dials the agent and joins them
    agent_ring_timeout_s: float = 20.0
    no_agent: str = "I'm sorry, none of our agents could take your call just now. Would you like us to call you back?"
    ack_timeout_s: float = 8.0  # an answer not ACKed this long ends the call (pjsip would wait 32 s)
    media_timeout_s: float = 30.0  # no audio from the caller this long (a dead phone, a lost network): BYE
    goodbye_grace_s: float = 10.0  # longest wait for a goodbye to finish playing before hanging up
    max_concurrent_calls: int = 0  # across all workers (Redis); 0: no limit beyond the workers' own
    idle_timeout_ms: int = 10_000  # caller silent this long after the bot spoke: reprompt (0: never)
    idle_max_reprompts: int = 2  # then say goodbye and hang up
    reprompt: str = "Are you still there?"
    idle_goodbye: str = "I haven't heard from you, so I'll end the call now. Goodbye!"
    filler: str = "One moment, please."
    transfer_failed: str = "I'm sorry, I couldn't reach an agent just now. Can I help you with something else?"
    # The engine lost mid-call: the edge says `engine_lost_hold` (a chime every few seconds after it)
    # while it reconnects for at most `engine_reconnect_s`, then replays the conversation so far;
    # if it cannot, `engine_lost_sorry` and the call is transferred (with a target) or ended.
    engine_reconnect_s: float = 8.0
    engine_lost_hold: str = "I'm sorry, one moment please."
    engine_lost_sorry: str = ("I'm sorry, we're having a technical problem on our side. "
                              "Please call again in a few minutes. Goodbye.")  # fmt: skip
    engine_back: str = "Thank you for holding. Please go on."
    engine_lost_transfer: str = "I'm sorry, we're having a technical problem. Let me put you through to a colleague."
    # Outbound calls: answering-machine detection first (the bot is silent until it decides); on a
    # machine, `voicemail_message` after the beep ("message") or no message at all ("hang_up").
    amd: bool = True
    amd_on_machine: str = "message"
    voicemail_message: str = ("Hello, this is Acme Telecom calling. Please call us back at your convenience. "
                              "Thank you, goodbye.")  # fmt: skip
    record_dir: str | None = None  # write each call's line audio here: what came in, what went up, what was played
    recordings_dir: str | None = None  # the calls' stereo recordings (bot/edge/call_recorder.py); None: not recorded
    turns: TurnConfig = field(default_factory=TurnConfig)
