"""Pacing on the loop clock."""

from __future__ import annotations

import math


def until_tick(now: float, tick_s: float) -> float:
    """Seconds to the next multiple of `tick_s` on the loop clock. Every call's uplink (and the
    endpoint poll) wake on the same boundaries, so one loop iteration serves them all; pacing from
    the clock, not from the last wake-up, never drifts."""
    wait = (math.floor(now / tick_s) + 1) * tick_s - now
    return wait if wait > 1e-3 else wait + tick_s  # on a boundary (float error): the next one
