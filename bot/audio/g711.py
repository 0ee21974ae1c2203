"""G.711 mu-law and A-law through audioop (stdlib up to 3.12, `audioop-lts` from 3.13)."""

from __future__ import annotations

import audioop

SAMPLE_WIDTH = 2  # bytes per linear sample (pcm16)


def ulaw_to_pcm16(data: bytes) -> bytes:
    return audioop.ulaw2lin(data, SAMPLE_WIDTH)


def pcm16_to_ulaw(data: bytes) -> bytes:
    return audioop.lin2ulaw(data, SAMPLE_WIDTH)


def alaw_to_pcm16(data: bytes) -> bytes:
    return audioop.alaw2lin(data, SAMPLE_WIDTH)


def pcm16_to_alaw(data: bytes) -> bytes:
    return audioop.lin2alaw(data, SAMPLE_WIDTH)
