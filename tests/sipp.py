"""SIPp runs and RTP captures for tests and benchmarks (SIPp from Debian `sip-tester`, tcpdump)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import random
import secrets
import signal
import socket
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

from bot.audio import g711
from bot.audio.level import rms
from tests.audio import phone_ulaw

SCENARIOS = Path(__file__).resolve().parent.parent / "infra" / "sipp"


def speech_file(text: str, path: Path) -> Path:
    """`text` spoken by our TTS as raw 8 kHz mu-law (what SIPp's rtp_stream plays)."""
    return ulaw_file(phone_ulaw(text), path)


def ulaw_file(ulaw: bytes, path: Path) -> Path:
    """Raw 8 kHz mu-law bytes for SIPp's rtp_stream, without a WAV header: SIPp 3.6.1 sends sox's
    58-byte mu-law WAV header as audio (a 7 ms click, RMS ~13000, before every utterance)."""
    path.write_bytes(ulaw)
    return path


def silence_file(path: Path, seconds: float = 2.0) -> Path:
    """Line silence as raw 8 kHz mu-law (a caller who says nothing, looped by rtp_stream)."""
    return ulaw_file(b"\xff" * (8 * int(seconds * 1000)), path)


def render(name: str, out: Path, **values: object) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    out.write_text(text)
    return out


def call_ids() -> str:
    """A fresh prefix for the Call-IDs of one SIPp run."""
    return f"sipp-{secrets.token_hex(4)}-"


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    stderr: str
    call_id_prefix: str  # every Call-ID of the run starts with it: the bot records its calls under them


def free_media_port() -> int:
    """An even port in 30000-39999 with it and the three after it free on UDP: SIPp's audio and video
    RTP/RTCP (a random pick without the check once met another process's RTP socket: errno 98)."""
    for _ in range(500):
        base = random.randrange(30000, 39990, 2)
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + 4):
                    held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)).bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no four free UDP ports for SIPp's media in 30000-39999")


async def run_sipp(scenario: Path, target: str, *, calls: int, concurrency: int, rate: float, workdir: Path,
                   media_port: int, timeout_s: int = 120, call_id_prefix: str | None = None,
                   sip_port: int = 0, local_ip: str = "127.0.0.1") -> SippResult:  # fmt: skip
    """Run SIPp as a UAC on loopback; bounded by call count and a global timeout."""
    prefix = call_id_prefix or call_ids()
    args = ["sipp", target, "-cid_str", f"{prefix}%u-%p@%s", "-sf", str(scenario), "-m", str(calls), "-l", str(concurrency), "-r", str(rate),
            "-i", local_ip, "-mi", local_ip, "-mp", str(media_port), "-p", str(sip_port), "-nostdin",
            "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_stat", "-stf", str(workdir / "stat.csv"),
            "-trace_err", "-error_file", str(workdir / "errors.log"), "-max_recv_loops", "1000"]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*args, cwd=workdir, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), timeout_s + 30)
    ok, failed = _counts(workdir / "stat.csv")
    return SippResult(proc.returncode or 0, ok, failed, err.decode(errors="replace"), prefix)


async def sipp_callee(scenario: Path, *, port: int, workdir: Path, media_port: int, timeout_s: int = 60,
                      calls: int = 1) -> asyncio.Task[SippResult]:  # fmt: skip
    """SIPp as a UAS (a callee for the bot's outbound calls) on 127.0.0.1:`port`, for `calls` calls;
    the task ends with its result. Returns once SIPp listens."""
    args = ["sipp", "-sf", str(scenario), "-m", str(calls), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media_port), "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_stat",
            "-stf", str(workdir / "stat.csv"), "-trace_err", "-error_file", str(workdir / "errors.log")]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*args, cwd=workdir, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)  # fmt: skip

    async def result() -> SippResult:
        _, err = await asyncio.wait_for(proc.communicate(), timeout_s + 30)
        ok, failed = _counts(workdir / "stat.csv")
        return SippResult(proc.returncode or 0, ok, failed, err.decode(errors="replace"), "")

    for _ in range(100):  # until its port is taken
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            break
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    with contextlib.suppress(TimeoutError):  # (its media sockets are bound after the SIP one)
        await asyncio.wait_for(asyncio.shield(proc.wait()), 0.3)
    if proc.returncode is not None:  # (it could not start: a port taken, a bad scenario)
        errors = workdir / "errors.log"
        raise RuntimeError(f"SIPp callee exited at once: {errors.read_text() if errors.exists() else ''}")
    return asyncio.ensure_future(result())


def _counts(stat: Path) -> tuple[int, int]:
    if not stat.exists():
        return 0, 0
    rows = list(csv.DictReader(stat.read_text().splitlines(), delimiter=";"))
    if not rows:
        return 0, 0
    last = rows[-1]
    return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])


@dataclass
class Flow:
    times: list[float] = field(default_factory=list)
    speech_packets: int = 0
    speech_times: list[float] = field(default_factory=list)

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.times, self.times[1:], strict=False)]


@dataclass
class Capture:
    path: Path
    flows: dict[tuple[int, int], Flow] = field(default_factory=dict)

    def analyse(self, bot_ports: range | set[int]) -> dict[tuple[int, int], Flow]:
        """RTP sent from `bot_ports` (the bot's, or a caller's), per (source, destination) port pair."""
        flows: dict[tuple[int, int], Flow] = defaultdict(Flow)
        with self.path.open("rb") as f:
            for ts, buf in dpkt.pcap.Reader(f):
                ip = dpkt.ethernet.Ethernet(buf).data
                if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.udp.UDP):
                    continue
                udp = ip.data
                if udp.sport not in bot_ports or len(udp.data) < 12 or udp.data[0] >> 6 != 2:
                    continue
                if 72 <= udp.data[1] & 0x7F <= 76:  # RTCP (sender/receiver reports), not media
                    continue
                flow = flows[(udp.sport, udp.dport)]
                flow.times.append(ts)
                payload = bytes(udp.data[12:])
                if (udp.data[1] & 0x7F) == 0 and rms(g711.ulaw_to_pcm16(payload)) > 150:
                    flow.speech_packets += 1
                    flow.speech_times.append(ts)
        self.flows = dict(flows)
        return self.flows

    def call_flows(self, media_port: int) -> tuple[Flow | None, Flow]:
        """A SIPp call's RTP by its media port: (what the caller sent, if it had speech; what the bot
        sent, empty if nothing came)."""
        flows = self.analyse(set(range(1024, 65536)))
        caller = next((f for (src, _), f in flows.items() if src == media_port and f.speech_packets), None)
        bot = next((f for (_, dst), f in flows.items() if dst == media_port), Flow())
        return caller, bot


@contextlib.asynccontextmanager
async def capture(path: Path, port_filter: str) -> AsyncIterator[Capture]:
    """tcpdump on loopback with a capture filter, e.g. 'udp and portrange 20000-29999'."""
    proc = await asyncio.create_subprocess_exec("tcpdump", "-i", "lo", "-n", "-U", "-w", str(path), port_filter,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)  # fmt: skip
    assert proc.stderr is not None
    async with asyncio.timeout(10):  # it says so once it captures
        while b"listening on" not in (line := await proc.stderr.readline()):
            if not line:
                raise RuntimeError("tcpdump exited before capturing")
    drain = asyncio.ensure_future(proc.stderr.read())  # (a full pipe would stall it)
    try:
        yield Capture(path)
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 10)
        await drain


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[98]


async def call_once(
    scenario: Path, port: int, workdir: Path, calls: int = 1, call_id_prefix: str | None = None
) -> SippResult:
    return await run_sipp(scenario, f"127.0.0.1:{port}", calls=calls, concurrency=1, rate=2, workdir=workdir,
                          media_port=free_media_port(), timeout_s=30, call_id_prefix=call_id_prefix)  # fmt: skip
