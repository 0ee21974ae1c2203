"""A bounded pool for blocking model work (ASR, TTS, brain), one lane each.

Each lane is one thread, so one busy model never blocks another kind of work, and the models' own
thread pools are not oversubscribed. Overflow policy: a lane admits at most `max_waiting` jobs (running
or queued); one more is refused at once with `OverloadedError` rather than queued without limit.
Cancelling `run()` abandons the result; the job already on the thread still runs to its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

from bot.call_metrics import ENGINE_POOL_REFUSED, ENGINE_POOL_WAITING
from bot.errors import OverloadedError

T = TypeVar("T")
Lane = Literal["asr", "tts", "brain"]
LANES: tuple[Lane, ...] = ("asr", "tts", "brain")


class InferencePool:
    def __init__(self, max_waiting: int = 16) -> None:
        self.max_waiting = max_waiting
        self._executors = {lane: ThreadPoolExecutor(1, thread_name_prefix=f"engine-{lane}") for lane in LANES}
        self._waiting = dict.fromkeys(LANES, 0)
        self._idle_waiters: dict[Lane, list[asyncio.Future[None]]] = {lane: [] for lane in LANES}
        self.jobs = dict.fromkeys(LANES, 0)  # jobs admitted per lane since start

    def waiting(self, lane: Lane) -> int:
        return self._waiting[lane]

    async def idle(self, lane: Lane) -> None:
        """Return once `lane` has no job running or queued."""
        if not self._waiting[lane]:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters[lane].append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._idle_waiters[lane]:
                self._idle_waiters[lane].remove(waiter)

    async def run(self, lane: Lane, fn: Callable[..., T], *args: object) -> T:
        if self._waiting[lane] >= self.max_waiting:
            ENGINE_POOL_REFUSED.labels(lane).inc()
            raise OverloadedError(f"engine {lane} lane is full ({self.max_waiting} jobs waiting); try again shortly")
        self._waiting[lane] += 1
        ENGINE_POOL_WAITING.labels(lane).set(self._waiting[lane])
        self.jobs[lane] += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executors[lane], fn, *args)
        finally:
            self._waiting[lane] -= 1
            ENGINE_POOL_WAITING.labels(lane).set(self._waiting[lane])
            if not self._waiting[lane]:
                waiters, self._idle_waiters[lane] = self._idle_waiters[lane], []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    def close(self) -> None:
        for executor in self._executors.values():
            executor.shutdown(wait=True, cancel_futures=True)
