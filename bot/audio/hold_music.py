"""Music on hold, made here: a slow, soft arpeggio (sine notes with gentle fades) that loops
without a click, at a level well under speech. 8 kHz pcm16, like the line."""

from __future__ import annotations

import numpy as np

from bot.audio.frames import LINE_RATE

# C major, A minor, F major, G major: four bars of four notes, 0.5 s each (8 s a loop).
_NOTES_HZ = (261.63, 329.63, 392.00, 329.63, 220.00, 261.63, 329.63, 261.63,
             174.61, 220.00, 261.63, 220.00, 196.00, 246.94, 293.66, 246.94)  # fmt: skip
NOTE_S = 0.5


def hold_music(amplitude: int = 2200) -> bytes:
    """One loop (8 s). Each note has a soft attack and a long decay, and a quiet octave above."""
    n = int(LINE_RATE * NOTE_S)
    t = np.arange(n) / LINE_RATE
    envelope = np.minimum(1.0, t / 0.03) * np.exp(-t / 0.35)
    envelope[-int(LINE_RATE * 0.01) :] *= np.linspace(1.0, 0.0, int(LINE_RATE * 0.01))  # ends at zero: no click
    notes = [(np.sin(2 * np.pi * f * t) + 0.25 * np.sin(4 * np.pi * f * t)) * envelope for f in _NOTES_HZ]
    loop = np.concatenate(notes) / 1.25 * amplitude
    return bytes(loop.astype(np.int16).tobytes())
