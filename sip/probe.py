"""A SIP OPTIONS ping over UDP: is a worker (or Kamailio) answering? For health checks only."""

from __future__ import annotations

import asyncio
import secrets


class _Probe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)


async def options_ping(host: str, port: int, timeout_s: float = 1.0) -> int | None:
    """The status code of an OPTIONS answer, or None if nothing answered in time."""
    data = await options_reply(host, port, timeout_s)
    parts = data.split(b" ", 2) if data is not None else []
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


async def options_reply(host: str, port: int, timeout_s: float = 1.0) -> bytes | None:
    """The whole answer to an OPTIONS, or None if nothing answered in time."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Probe, local_addr=(host, 0))
    try:
        local_port = transport.get_extra_info("sockname")[1]
        tag, branch, call_id = secrets.token_hex(4), "z9hG4bK" + secrets.token_hex(6), secrets.token_hex(8)
        msg = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{local_port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@{host}>;tag={tag}\r\nTo: <sip:{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        transport.sendto(msg.encode(), (host, port))
        return await asyncio.wait_for(proto.reply, timeout_s)
    except TimeoutError:
        return None
    finally:
        transport.close()
