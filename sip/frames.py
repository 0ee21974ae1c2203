"""Fast copies between pjsua2 `MediaFrame.buf` (a SWIG std::vector<uint8>) and Python bytes.

`bytes(frame.buf)` walks the vector element by element (~150 µs per 20 ms frame, on pjmedia's clock
thread, holding the GIL). Reading the vector's data pointer with ctypes costs ~2 µs. This relies on
libstdc++'s vector layout (begin pointer first), so `check()` verifies it once at start-up and the
slow path is used if it does not hold.
"""

from __future__ import annotations

import ctypes
from typing import Any

_fast = True


def _data_pointer(vector: Any) -> int:
    return int(ctypes.c_void_p.from_address(int(vector.this)).value or 0)


def read(vector: Any, size: int) -> bytes:
    if _fast:
        pointer = _data_pointer(vector)
        return ctypes.string_at(pointer, size) if pointer else b""
    return bytes(vector)[:size]


def write(vector: Any, data: bytes) -> None:
    vector.resize(len(data))
    if _fast:
        ctypes.memmove(_data_pointer(vector), data, len(data))
    else:
        for i, b in enumerate(data):
            vector[i] = b


def check(vector_type: Any) -> bool:
    """Verify the fast path on a real vector; fall back to the slow one if it disagrees."""
    global _fast
    probe = bytes(range(256)) * 2
    v = vector_type()
    try:
        _fast = True
        write(v, probe)
        _fast = bytes(v) == probe and read(v, len(probe)) == probe
    except Exception:
        _fast = False
    return _fast
