"""Keypad entry: digits gather into one entry, sent when the caller presses # or pauses.

"Enter your account number followed by hash": 4 5 7 2 1 # becomes one entry "45721". Without a
hash, a pause of `inter_digit_ms` ends the entry. `*` clears what was keyed so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DtmfCollector:
    inter_digit_ms: int = 2500
    max_digits: int = 32
    _digits: list[str] = field(default_factory=list)
    _last_ms: float = 0.0

    def key(self, digit: str, now_ms: float) -> str | None:
        """Add a key press; returns a finished entry when this key ends one."""
        self._last_ms = now_ms
        if digit == "#":
            return self._take()
        if digit == "*":
            self._digits.clear()
            return None
        self._digits.append(digit)
        return self._take() if len(self._digits) >= self.max_digits else None

    def due(self, now_ms: float) -> str | None:
        """The entry, if the caller has paused long enough after keying something."""
        if self._digits and now_ms - self._last_ms >= self.inter_digit_ms:
            return self._take()
        return None

    def _take(self) -> str | None:
        entry = "".join(self._digits)
        self._digits.clear()
        return entry or None
