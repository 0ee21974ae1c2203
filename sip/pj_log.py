"""pjsip's own log lines into Python logging, so they take the process's format
(VOICEBOT_LOG_FORMAT=json: one JSON line each, with the call id where a call's callback logged it)
and its masking, instead of pjsip's console lines in the middle of the process's stream.

`quiet()` before `libCreate` (which logs before any configuration can reach it); `PjLogWriter` as the
endpoint's `logConfig.writer` from `libInit` on. pjsip's levels: 1 error, 2 warning, 3 info, 4-6 detail.
The writer may be called on pjmedia's clock thread: it only hands the line to `logging` (thread-safe)
and never raises into pjsip.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os

import pjsua2 as pj

LEVELS = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}


def quiet() -> None:
    """No pjsip logging until the endpoint's own configuration (libCreate prints to stdout otherwise)."""
    so = glob.glob(os.path.join(os.path.dirname(pj.__file__), "_pjsua2*.so"))
    if so:
        ctypes.CDLL(so[0]).pj_log_set_level(0)


class PjLogWriter(pj.LogWriter):  # type: ignore[misc]
    """Each pjsip line as a record of logger `pjsip.<its source file>` ("pjsip.sip_endpoint")."""

    def write(self, entry: pj.LogEntry) -> None:
        try:
            sender, _, message = entry.msg.strip().partition(" ")
            name = "pjsip." + (sender.removesuffix(".c") or "core")
            logging.getLogger(name).log(LEVELS.get(entry.level, logging.DEBUG), "%s", message.strip())
        except Exception:  # (a log line must never take pjsip down)
            pass


def configure(log_config: pj.LogConfig, level: int, writer: PjLogWriter) -> None:
    """pjsip's lines up to `level` go to `writer` (and nowhere else), each with its source file."""
    log_config.level = level
    log_config.consoleLevel = level
    log_config.decor = pj.PJ_LOG_HAS_SENDER
    log_config.writer = writer
