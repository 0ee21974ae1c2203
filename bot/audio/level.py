"""Signal level of pcm16 frames."""

from __future__ import annotations

import audioop


def rms(pcm16: bytes) -> int:
    """Root mean square of pcm16 samples (0..32767)."""
    return int(audioop.rms(pcm16, 2))
