"""The call's side of its SIP events, mixed into `CallSession` (bot/edge/session.py): media up
(the uplink and the call's timers start, then the greeting), the ACK, the hang-up, keys pressed
(a finished entry is a caller turn), and a transfer's final status."""

from __future__ import annotations

import logging

from bot.edge.port import Confirmed, Disconnected, Dtmf, MediaReady, TransferStatus
from bot.edge.session_host import SessionHost

log = logging.getLogger(__name__)


class ControlEvents(SessionHost):
    async def _control(self) -> None:
        while True:
            event = await self.call.events.get()
            if isinstance(event, MediaReady) and not self._media_up:
                self._media_up = True
                self._spawn(self._uplink(), "up")
                self._spawn(self._clock.run(self), "timers")
                if self._greets:
                    self._create_response()  # the greeting (on a call we placed: once it is a person)
            elif isinstance(event, Confirmed):
                self._clock.confirmed.set()
            elif isinstance(event, Disconnected):
                self.finish(self.outcome)  # caller_hung_up, unless the bot ended it first
                return
            elif isinstance(event, Dtmf):
                self._on_dtmf(event)
            elif isinstance(event, TransferStatus) and event.final:
                self._on_transfer_status(event)

    def _on_dtmf(self, event: Dtmf) -> None:
        now = self._now()
        self.idle.caller_active(now)
        self.log.said("dtmf", "*" if self.tap.pci_paused else event.digit)  # (keyed card digits stay off the record)
        entry = self.keypad.key(event.digit, now)
        if entry:
            self.keypad_entry(entry)

    def keypad_entry(self, entry: str) -> None:
        """A finished keypad entry is the caller's turn: it interrupts the bot like speech does.
        (Keys pressed while the engine is lost are replayed to the next one, and answered.)"""
        self.log.said("caller", f"(keypad) {entry}")
        self._replay.caller(entry)
        if self._conn is None:
            return
        self._barge_in()
        self._conn.send_text(entry)
        self._create_response()

    def _on_transfer_status(self, event: TransferStatus) -> None:
        if 200 <= event.code < 300:
            self.call.hangup()
            self.finish("transferred")
            return
        log.warning("call %s: transfer failed with %d", self.call.call_id, event.code)
        if self._conn is None:  # the transfer was the way out of an engine outage
            self._spawn(self._goodbye(), "goodbye")
            return
        self.say(self.bot.transfer_failed)
