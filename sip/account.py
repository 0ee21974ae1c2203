"""The SIP account calls arrive on; optionally registered to a trunk with digest auth."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrunkConfig:
    registrar: str  # e.g. sip:trunk.example.com
    user: str
    password: str
    realm: str = "*"


def voicebot_headers(invite: str) -> dict[str, str]:
    """The INVITE's `X-Voicebot-*` headers (what a trusted trunk asks of the call), names lower-cased.
    The front door strips them from callers that are not trusted sources."""
    head = invite.split("\r\n\r\n", 1)[0]
    out: dict[str, str] = {}
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower().startswith("x-voicebot-"):
            out[name.strip().lower()] = value.strip()[:200]
    return out


class InboundAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, on_incoming: Callable[[int, dict[str, str]], None], keep_invite: bool = False) -> None:
        """`keep_invite`: keep the last INVITE as received (a test phone reads its headers)."""
        super().__init__()
        self._on_incoming = on_incoming
        self._keep_invite = keep_invite
        self.last_invite = ""
        self.registered: bool | None = None

    def open(self, id_uri: str, rtp: tuple[str, int, int], trunk: TrunkConfig | None = None,
             srtp: bool = False) -> None:  # fmt: skip
        """`rtp`: (address, first port, port count) that media sockets bind to: never all interfaces.
        `srtp`: offer only SRTP (RTP/SAVP, SDES keys), as a caller that encrypts its media does."""
        cfg = pj.AccountConfig()
        cfg.idUri = id_uri
        media = cfg.mediaConfig.transportConfig
        media.boundAddress, media.port, media.portRange = rtp
        if srtp:
            cfg.mediaConfig.srtpUse = pj.PJMEDIA_SRTP_MANDATORY
            cfg.mediaConfig.srtpSecureSignaling = 0
        if trunk is not None:
            cfg.regConfig.registrarUri = trunk.registrar
            cred = pj.AuthCredInfo("digest", trunk.realm, trunk.user, 0, trunk.password)
            cfg.sipConfig.authCreds.append(cred)
        else:
            cfg.regConfig.registerOnAdd = False
        self.create(cfg)

    def onIncomingCall(self, prm: Any) -> None:
        invite = str(prm.rdata.wholeMsg)
        if self._keep_invite:
            self.last_invite = invite
        self._on_incoming(int(prm.callId), voicebot_headers(invite))

    def onRegState(self, prm: Any) -> None:
        self.registered = prm.code // 100 == 2
        log.info("trunk registration: %d %s", prm.code, prm.reason)
