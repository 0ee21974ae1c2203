"""The pjsua2 endpoint in poll mode: every SIP callback runs on the event loop thread.

Measured (../shared/notes/pjsua2.md): pj worker threads calling into Python crash under churn, so
`threadCnt = 0` and a task calls `libHandleEvents`. The wheel caps calls per process (4); the real
cap is read back from pjsua, and the worker advertises it.
"""

from __future__ import annotations

import asyncio
import ctypes
import glob
import logging
import os
from dataclasses import dataclass

import pjsua2 as pj

from bot.edge.ticks import until_tick
from sip import frames, pj_log
from sip.media import PortPool

log = logging.getLogger(__name__)
POLL_S = 0.01  # between libHandleEvents calls while calls are up; SIP timers are far coarser
POLL_IDLE_S = 0.02  # with no call: an idle worker costs ~4x less CPU, a new INVITE waits <= 20 ms more


@dataclass(frozen=True)
class EndpointConfig:
    host: str = "127.0.0.1"
    port: int = 5060  # UDP and TCP
    max_calls: int = 4
    user_agent: str = "voicebot"
    log_level: int = 1  # pjsip's 0..6
    tcp: bool = True
    tls: bool = False  # also a TLS client transport (TLS 1.2+), for calls to `...;transport=tls`


def call_capacity() -> int:
    """pjsua's real per-process call cap (after libInit): maxCalls above the build's limit is clamped."""
    so = glob.glob(os.path.join(os.path.dirname(pj.__file__), "_pjsua2*.so"))
    if not so:
        return 4
    return int(ctypes.CDLL(so[0]).pjsua_call_get_max_count())


class SipEndpoint:
    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        pj_log.quiet()
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        ua = cfg.uaConfig
        ua.threadCnt = 0
        ua.mainThreadOnly = True
        ua.maxCalls = config.max_calls
        ua.userAgent = config.user_agent
        self._log_writer = pj_log.PjLogWriter()  # (pjsip holds it until libDestroy: kept alive here)
        pj_log.configure(cfg.logConfig, config.log_level, self._log_writer)
        med = cfg.medConfig
        med.clockRate = 8000
        med.sndClockRate = 8000
        med.channelCount = 1
        med.audioFramePtime = 20
        med.maxMediaPorts = 2 * config.max_calls + 4  # a Python port takes 2 bridge slots per call
        med.noVad = True
        med.ecTailLen = 0  # pjsua's AEC only works on a sound device; the call session cancels echo
        # Prefetch as little as the network allows (adaptive up to 200 ms): every ms here delays
        # barge-in and the end of the caller's turn.
        med.jbInit, med.jbMinPre, med.jbMaxPre, med.jbMax = 20, 20, 200, 500  # ms
        self.ep.libInit(cfg)
        self.capacity = min(config.max_calls, call_capacity())
        self.ep.audDevManager().setNullDev()
        frames.check(pj.ByteVector)
        tcfg = pj.TransportConfig()
        tcfg.port = config.port
        tcfg.boundAddress = config.host
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        if config.tcp:
            self.ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcfg)
        if config.tls:
            tls = pj.TransportConfig()
            tls.boundAddress = config.host
            tls.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
            tls.tlsConfig.verifyServer = False  # a test client: the front door's certificate may be self-signed
            self.ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, tls)
        self.ep.libStart()
        self._codecs()
        self.ports = PortPool()
        self._poller: asyncio.Task[None] | None = None
        self.active_calls = 0  # kept by the owner of the calls; only paces polling

    def _codecs(self) -> None:
        """Phone codecs only: PCMU first, then PCMA; telephone-event is negotiated separately."""
        for codec in self.ep.codecEnum2():
            name = codec.codecId
            priority = 255 if name.startswith("PCMU/") else 254 if name.startswith("PCMA/") else 0
            self.ep.codecSetPriority(name, priority)

    def start(self) -> None:
        self._poller = asyncio.get_running_loop().create_task(self._poll(), name="pjsua-poll")

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.ep.libHandleEvents(0)
            await asyncio.sleep(until_tick(loop.time(), POLL_S if self.active_calls else POLL_IDLE_S))

    async def hang_up_all(self) -> None:
        """Hang up every call and let the BYEs go out (call objects are dropped as they disconnect)."""
        self.ep.hangupAllCalls()
        for _ in range(40):
            self.ep.libHandleEvents(10)
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)

    def destroy(self) -> None:
        """Last: the caller must have dropped its accounts and calls (a pj object freed after
        libDestroy aborts the process)."""
        # The null device's clock drives the bridge: stopped first, no tick reaches a port being freed
        # (freeing a port still ticked raised inside pjmedia's thread: a SIGSEGV at a softphone's exit).
        self.ep.audDevManager().setNoDev()
        self.ports.destroy()
        self.ep.libDestroy()
