"""USP, the WebSocket message framing of Azure Speech (the service and its containers), which the Speech
SDK speaks: a text message is CRLF header lines (``Path:``, ``X-RequestId:``, ``Content-Type:``), a blank
line and the body; a binary message is a 2-byte big-endian header length, the same headers, and the body
(audio). Pure: bytes and text in and out.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

MAX_HEADER_BYTES = 8192  # a client's headers are a few hundred bytes


class UspError(ValueError):
    """A message that is not USP; the connection ends with this text as its close reason."""


@dataclass(frozen=True)
class Message:
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # by lower-case name
    body: bytes = b""

    @property
    def request_id(self) -> str:
        return self.headers.get("x-requestid", "")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise UspError(f"{self.path}: the body is not JSON") from exc


def _headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise UspError(f"header line without a colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    if "path" not in headers:
        raise UspError("a message without a Path header")
    return headers


def parse_text(data: str) -> Message:
    block, sep, body = data.partition("\r\n\r\n")
    if not sep:
        raise UspError("a text message without the blank line after its headers")
    if len(block) > MAX_HEADER_BYTES:
        raise UspError("headers too long")
    headers = _headers(block)
    return Message(headers["path"].lower(), headers, body.encode())


def parse_binary(data: bytes) -> Message:
    if len(data) < 2:
        raise UspError("a binary message shorter than its header length")
    size = int.from_bytes(data[:2], "big")
    if size > MAX_HEADER_BYTES or 2 + size > len(data):
        raise UspError("a binary message whose header length is past its end")
    try:
        block = data[2 : 2 + size].decode("ascii")
    except UnicodeDecodeError as exc:
        raise UspError("binary message headers that are not ASCII") from exc
    headers = _headers(block)
    return Message(headers["path"].lower(), headers, data[2 + size :])


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header_block(path: str, request_id: str, content_type: str | None) -> str:
    lines = [f"X-RequestId:{request_id}", f"X-Timestamp:{_timestamp()}", f"Path:{path}"]
    if content_type:
        lines.insert(1, f"Content-Type:{content_type}")
    return "\r\n".join(lines) + "\r\n"


def text(path: str, request_id: str, body: Any) -> str:
    """A service text message with a JSON body."""
    payload = json.dumps(body, separators=(",", ":"))
    return _header_block(path, request_id, "application/json; charset=utf-8") + "\r\n" + payload


def binary(path: str, request_id: str, body: bytes, content_type: str | None = None) -> bytes:
    block = _header_block(path, request_id, content_type).encode("ascii")
    return len(block).to_bytes(2, "big") + block + body


def ticks(ms: float) -> int:
    """USP offsets and durations: 100-nanosecond units."""
    return round(ms * 10_000)
