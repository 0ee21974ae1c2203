"""The call's side of the engine's event stream: each server event the call session acts on, one
handler each (a table keyed by event type), mixed into `CallSession` (bot/edge/session.py).

Engine → caller: a reply's audio into the playout buffer (never a cancelled reply's), the caller's
speech and turns to the barge-in strategy, transcripts to the call log and the replay, function
calls to the tool runner, and what the bot was to do once its last words were heard.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from bot.audio import g711
from bot.call_metrics import TURN_LATENCY
from bot.edge.barge import Turn
from bot.edge.call_log import Decision
from bot.edge.engine_link import RealtimeConnection
from bot.edge.session_host import SessionHost
from bot.log_format import TURN
from bot.redact import redact, redact_arguments

log = logging.getLogger(__name__)


class EngineEvents(SessionHost):
    """The engine's events, one handler each (the host is the call session)."""

    def _forget_engine_state(self) -> None:
        """What belonged to the lost session: its reply in flight, its audio, a hang-up it owed."""
        self.call.media.playout.clear()
        self._active_response = None
        self._create_sent = False
        self.caller_speaking = False
        if self._after_playout is not None and self._after_playout[0] == "hangup":
            self.finish(str(self._after_playout[1].get("outcome", "completed")))  # it was saying goodbye
        self._after_playout = None

    async def _downlink(self, conn: RealtimeConnection) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "response.created": self._on_response_created,
            "response.audio.delta": self._on_audio_delta,
            "response.audio.done": self._on_audio_done,
            "response.audio_transcript.done": self._on_bot_transcript,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "conversation.item.input_audio_transcription.completed": self._on_caller_transcript,
            "response.function_call_arguments.done": self._on_function_call,
            "response.done": self._on_response_done,
            "error": self._on_error,
        }
        async for event in conn.events():
            handler = handlers.get(event["type"])
            if handler is not None:
                handler(event)

    def _on_response_created(self, event: dict[str, Any]) -> None:
        self._create_sent = False
        self._held_speech = False
        self._active_response = event["response"]["id"]

    def _on_audio_delta(self, event: dict[str, Any]) -> None:
        if event.get("response_id") != self._active_response:
            return  # audio of a reply already cancelled: never play it
        self._recovery.answered()
        if self._turn_ended_at is not None:
            TURN_LATENCY.observe((self._now() - self._turn_ended_at) / 1000)
            self._turn_ended_at = None
        self.call.media.playout.push(event["item_id"], g711.ulaw_to_pcm16(base64.b64decode(event["delta"])))

    def _on_audio_done(self, event: dict[str, Any]) -> None:
        self.call.media.playout.finish(event["item_id"])

    def _on_speech_started(self, event: dict[str, Any]) -> None:
        self.caller_speaking = True
        now = self._now()
        self.idle.caller_active(now)
        self._act(self.barge.speech(True, self.bot_active, now))

    def _on_speech_stopped(self, event: dict[str, Any]) -> None:
        self.caller_speaking = False
        self._act(self.barge.speech(False, self.bot_active, self._now()))

    def _on_committed(self, event: dict[str, Any]) -> None:
        """A caller turn is complete. Unless the engine replies on its own, the session asks for it."""
        item_id = event["item_id"]
        if (cell := TURN.get()) is not None:
            cell.turn_id = item_id  # (the call's log lines from here on carry this turn)
        turn = self.barge.committed(item_id, self.bot_active, self._now())
        if self._amd is not None:
            self._amd.items.append(item_id)
        if self._deaf:  # leaving a voicemail: what the machine does is no turn
            assert self._conn is not None
            self._conn.delete_item(item_id)
            return
        if turn is Turn.ECHO and self._held_speech:
            turn = Turn.REPLY  # (the edge's detector never saw those frames: they came while held)
        if turn is Turn.ECHO:
            self._echo_items.add(item_id)
            assert self._conn is not None
            self._conn.delete_item(item_id)
        elif turn is Turn.REDO:
            self._barge_in()
            self._turn_ended_at = self._now()
            self._create_response()
        elif turn is Turn.REPLY:
            self._turn_ended_at = self._now()
            self._create_response()
        elif turn is Turn.ENGINE:
            self._turn_ended_at = self._now()  # (the engine's own reply is timed from here too)
        elif turn is Turn.HOLD:
            self._held_turn_at = self._now()  # timed from here if its words prove to be a turn

    def _on_caller_transcript(self, event: dict[str, Any]) -> None:
        said = str(event.get("transcript", ""))
        item_id = str(event.get("item_id", ""))
        if item_id in self._echo_items:
            self._echo_items.discard(item_id)
            self.log.decided(Decision.ECHO_IGNORED, f"ignored as echo (only the engine heard it, while the bot spoke): "
                             f"{redact(said)!r}", item_id=item_id)  # fmt: skip
            return
        self.log.said("caller", said)
        playout = self.call.media.playout
        complete = self._active_response is None and not self._create_sent and playout.complete
        verdict = self.barge.verdict(item_id, said, playout.queued_ms if complete else None)
        if verdict is not None and not verdict.turn:
            assert self._conn is not None
            self._conn.delete_item(item_id)  # "uh-huh" is not a turn: the bot goes on
            self._act(verdict.action)
            return
        self._caller_said = [*self._caller_said[-9:], said]
        self._replay.caller(said)
        if verdict is not None:
            self._act(verdict.action)  # words: the bot stops (if it still talks) and answers them
            self._turn_ended_at, self._held_turn_at = self._held_turn_at or self._now(), None
            self._create_response()

    def _on_bot_transcript(self, event: dict[str, Any]) -> None:
        said = str(event.get("transcript", ""))
        self.log.said("bot", said)
        self._replay.bot(said)

    def _on_function_call(self, event: dict[str, Any]) -> None:
        name = str(event.get("name", ""))
        self.log.said("tool", f"{name} {redact_arguments(str(event.get('arguments') or ''))}")
        self._replay.tool_call(str(event["call_id"]), name, str(event.get("arguments") or "{}"))
        assert self._runner is not None and self._group is not None
        self._runner.start(self._group, name, str(event["call_id"]), str(event.get("arguments") or "{}"))

    def _respond_to_tools(self) -> None:
        """Ask for the reply to the tool outputs once every tool is done and nothing else is speaking."""
        assert self._runner is not None
        if self._runner.reply_due(self._active_response is not None):
            self._create_response()

    def _set_after_playout(self, action: str, args: dict[str, Any]) -> None:
        self._after_playout = (action, args)

    def _on_response_done(self, event: dict[str, Any]) -> None:
        if event["response"]["id"] == self._active_response:
            self._active_response = None
        assert self._runner is not None
        if self._runner.busy:
            self._respond_to_tools()
            return
        if self._after_playout is not None:
            action, args = self._after_playout
            self._after_playout = None
            self._spawn(self._after_words(action, args), action)

    async def _after_words(self, action: str, args: dict[str, Any]) -> None:
        if action == "transfer" and self._warm is not None:
            await self._actions.when_played()
            await self._hand_over(args)
            return
        outcome = await self._actions.after_last_words(action, args, self._caller_said)
        if outcome is not None:
            self.finish(outcome)

    def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error", {})
        if error.get("code") == "conversation_already_has_active_response":
            self._create_sent = False  # ours was refused; the one running goes on
        if error.get("code") != "response_cancel_not_active":  # a race with the engine's own interrupt
            log.warning("call %s: engine error %s: %s", self.call.call_id, error.get("code"), error.get("message"))
