"""The front door's configuration: Kamailio in front of the workers (dispatcher), who it trusts as a
trunk and what it allows any other source, SIP over TLS, and SRTP terminated by the media proxy
(rtpengine) so the workers only ever see plain RTP.

`voicebot run` renders infra/kamailio/kamailio.cfg into its run directory with these values.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger(__name__)
KAMAILIO_CFG = Path(__file__).resolve().parent.parent / "infra" / "kamailio" / "kamailio.cfg"
RPC_SOCKET = "rpc.sock"  # Kamailio's JSON-RPC datagram socket, in its run directory
CERT_DAYS = 825  # of the self-signed certificate made when none is configured
_DID = re.compile(r"[A-Za-z0-9+._-]{1,64}")
_USER = re.compile(r"[A-Za-z0-9+._-]{1,64}")
_PASSWORD = re.compile(r"[A-Za-z0-9._~!@#%^&*()+=-]{8,128}")  # (nothing Kamailio's config would read)


@dataclass(frozen=True)
class SourcePolicy:
    """Who the front door trusts (trunks: no limits) and what it allows any other source address."""

    trusted: tuple[str, ...] = ("127.0.0.1/32",)
    invites_per_2s: int = 6  # more from one address: dropped (pike) until it slows down
    max_calls: int = 2  # calls up at once from one address (dialog profile): more get 486

    @classmethod
    def of(cls, settings: Settings) -> SourcePolicy:
        trusted = tuple(t.strip() for t in settings.trusted_sources.split(",") if t.strip())
        for source in trusted:
            ipaddress.ip_network(source, strict=False)  # a typo fails at start, not silently
        return cls(trusted, settings.source_invites_per_2s, settings.source_max_calls)

    def address_file(self) -> str:
        """permissions module: group 1, one network per line (grp ip mask port tag)."""
        lines = []
        for source in self.trusted:
            net = ipaddress.ip_network(source, strict=False)
            lines.append(f"1 {net.network_address} {net.prefixlen} 0 trunk\n")
        return "".join(lines)


@dataclass(frozen=True)
class Tls:
    """SIP over TLS at the front door: TLS 1.2 or later only (Kamailio's tls module, the system's OpenSSL)."""

    port: int
    cert: Path
    key: Path

    @classmethod
    def of(cls, settings: Settings, run_dir: Path) -> Tls | None:
        if not settings.sip_tls_port:
            return None
        if settings.sip_tls_cert and settings.sip_tls_key:
            return cls(settings.sip_tls_port, Path(settings.sip_tls_cert), Path(settings.sip_tls_key))
        cert, key = self_signed(run_dir / "tls", settings.sip_host)
        return cls(settings.sip_tls_port, cert, key)

    def config(self) -> str:
        """The tls module's own config file."""
        return (
            "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
            f"certificate = {self.cert}\nprivate_key = {self.key}\n\n"
            "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
        )


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for `host` (kept across restarts), made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("openssl is not installed: set VOICEBOT_SIP_TLS_CERT and VOICEBOT_SIP_TLS_KEY")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        ipaddress.ip_address(host)
        san = f"IP:{host}"
    except ValueError:
        san = f"DNS:{host}"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(CERT_DAYS),
                    "-subj", f"/CN={host}", "-addext", f"subjectAltName={san}", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    key.chmod(0o600)
    log.info("made a self-signed TLS certificate for %s: %s", host, cert)
    return cert, key


def did_pattern(dids: str) -> str:
    """The Request-URI user parts the service answers, as a Kamailio regex ('' : any)."""
    parts = [d.strip() for d in dids.split(",") if d.strip()]
    for did in parts:
        if not _DID.fullmatch(did):
            raise SystemExit(f"VOICEBOT_DIDS: {did!r} is not a user part (letters, digits, + . _ -)")
    return "^(" + "|".join(re.sub(r"([+.])", r"[\1]", d) for d in parts) + ")$" if parts else ""


def sip_users(spec: str) -> dict[str, str]:
    """`user:password,...` checked: a bad entry fails at start, naming the user, never the password."""
    users: dict[str, str] = {}
    for entry in (e.strip() for e in spec.split(",") if e.strip()):
        user, _, secret = entry.partition(":")
        if not _USER.fullmatch(user):
            raise SystemExit(f"VOICEBOT_SIP_USERS: {user!r} is not a user name (letters, digits, + . _ -)")
        if not _PASSWORD.fullmatch(secret):
            raise SystemExit(f"VOICEBOT_SIP_USERS: the password of {user!r} needs 8-128 of A-Z a-z 0-9 ._~!@#%^&*()+=-")
        users[user] = secret
    return users


def user_route(users: dict[str, str]) -> str:
    """route[SIP_USER]: the password of the user in the credentials ($au) into $var(pw) ('' : none)."""
    if not users:
        return ""
    cases = "".join(f'            case "{user}":\n                $var(pw) = "{secret}";\n                break;\n'
                    for user, secret in users.items())  # fmt: skip
    return (f'route[SIP_USER] {{\n    $var(pw) = "";\n    if ($au != $null) {{\n        switch ($au) {{\n{cases}'
            "        }\n    }\n}\n")  # fmt: skip


@dataclass(frozen=True)
class FrontDoor:
    host: str
    sip_port: int
    worker_ports: list[int]
    sources: SourcePolicy = field(default_factory=SourcePolicy)
    tls: Tls | None = None
    media_proxy: str = "udp:127.0.0.1:2223"  # rtpengine's ng control socket
    dids: str = ""  # regex of the user parts answered; others get 404 ('' : any)
    users: dict[str, str] = field(default_factory=dict)  # SIP accounts for callers that are not trunks

    @classmethod
    def of(cls, settings: Settings, sip_port: int, worker_ports: list[int], run_dir: Path) -> FrontDoor:
        return cls(settings.sip_host, sip_port, worker_ports, SourcePolicy.of(settings),
                   Tls.of(settings, run_dir), f"udp:{settings.sip_host}:{settings.media_proxy_port}",
                   did_pattern(settings.dids),
                   sip_users(settings.sip_users.get_secret_value() if settings.sip_users else ""))  # fmt: skip

    def render(self, kdir: Path) -> Path:
        """Write Kamailio's config, dispatcher list (one worker per line), trusted sources and TLS
        config into `kdir`; returns the config file."""
        kdir.mkdir(parents=True, exist_ok=True)
        dispatcher = kdir / "dispatcher.list"
        dispatcher.write_text("".join(f"1 sip:{self.host}:{p}\n" for p in self.worker_ports))
        addresses = kdir / "trusted.list"
        addresses.write_text(self.sources.address_file())
        defines = []
        tls_cfg = kdir / "tls.cfg"
        if self.tls is not None:
            tls_cfg.write_text(self.tls.config())
            defines.append("#!define WITH_TLS")
        if self.dids:
            defines.append("#!define WITH_DIDS")
        if self.users:
            defines.append("#!define WITH_AUTH")
        values = {"DEFINES": "\n".join(defines), "HOST": self.host, "SIP_PORT": str(self.sip_port),
                  "TLS_PORT": str(self.tls.port if self.tls else 0), "TLS_CFG": str(tls_cfg),
                  "DISPATCHER_LIST": str(dispatcher), "RPC_SOCKET": str(kdir / RPC_SOCKET),
                  "ADDRESS_LIST": str(addresses), "INVITES_PER_2S": str(self.sources.invites_per_2s),
                  "MAX_CALLS": str(self.sources.max_calls), "MEDIA_PROXY": self.media_proxy,
                  "DIDS": self.dids, "SIP_USER_ROUTE": user_route(self.users)}  # fmt: skip
        cfg = KAMAILIO_CFG.read_text()
        for key, value in values.items():
            cfg = cfg.replace("{{" + key + "}}", value)
        out = kdir / "kamailio.cfg"
        out.touch(mode=0o600)  # (it holds the SIP accounts' passwords)
        out.chmod(0o600)
        out.write_text(cfg)
        return out
