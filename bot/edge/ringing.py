"""An outbound call while it rings: wait for the callee's answer, or learn how the call failed.

pjsua reports the answer as the call's CONFIRMED state (`Confirmed`, once our ACK went out); a final
failure as `Disconnected` with its SIP status (486 busy, 603 declined, 487 after our CANCEL...). Media
may come up before the answer (early media, 183): that `MediaReady` is put back for the session's
control loop, which starts the call's media once the call is answered.
"""

from __future__ import annotations

import asyncio

from bot.dialer import outcome_of
from bot.edge.call_log import CallLog
from bot.edge.port import CallPort, Confirmed, Disconnected, MediaReady


async def until_answered(call: CallPort, ring_timeout_s: float, log: CallLog | None = None) -> str | None:
    """None once the callee answered; else the outcome (busy, no_answer, rejected, failed).
    Not answered within `ring_timeout_s`: the call is cancelled, no_answer."""
    media = False
    try:
        async with asyncio.timeout(ring_timeout_s):
            while not isinstance(event := await call.events.get(), Confirmed):
                media = media or isinstance(event, MediaReady)
                if isinstance(event, Disconnected):
                    if log is not None:
                        log.note(sip_status=event.code)
                    return outcome_of(event.code)
    except TimeoutError:
        call.hangup()  # CANCEL
        return "no_answer"
    if media:
        call.events.put_nowait(MediaReady())
    return None


async def until_media(call: CallPort, timeout_s: float) -> bool:
    """True once the call's audio is up; False if it ends first, or not within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                event = await call.events.get()
                if isinstance(event, MediaReady):
                    return True
                if isinstance(event, Disconnected):
                    return False
    except TimeoutError:
        return False
