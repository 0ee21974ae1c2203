"""A child process of `voicebot run`: started in a process group of its own (whatever it forks is
stopped with it), told to die with the supervisor (Linux prctl), stopped gently then killed."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
from dataclasses import dataclass

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if the supervisor dies, even by SIGKILL (Linux prctl)."""
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _standing_by() -> None:
    """...and for a standby, SIGUSR1 blocked from before exec (the mask survives it): a takeover
    signalled while the process still starts waits for it, instead of killing it."""
    _die_with_parent()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    stopping: bool = False
    started_at: float = 0.0
    worker_id: str | None = None  # a SIP worker: the id its calls are recorded under
    due_at: float | None = None  # not running, to be started at this loop time (a spare that stood in)
    standby: bool = False  # it waits for SIGUSR1 (`voicebot engine --standby`)

    async def start(self) -> None:
        # A process group of its own: whatever it forks is stopped with it.
        first = _standing_by if self.standby else _die_with_parent
        self.proc = await asyncio.create_subprocess_exec(*self.argv, env=self.env, preexec_fn=first,
                                                         start_new_session=True)  # fmt: skip
        self.started_at = asyncio.get_running_loop().time()
        log.info("started %s (pid %d)", self.name, self.proc.pid)

    def kill_group(self) -> None:
        """SIGKILL whatever is left of the child's process group (forks of a parent that died)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def stop(self, timeout_s: float = 10.0) -> None:
        self.stopping = True
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout_s)
        self.kill_group()
        await proc.wait()
