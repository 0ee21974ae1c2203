"""What the calls' sessions asked the engine to be ready for, kept in a file so a standby engine
(`voicebot engine --standby`) can be just as ready before it takes over: the instructions, tools and
voice of the last few distinct session configurations, prepared (brain index embedded, likely
openings synthesised into the TTS cache) before it stands by. Without it a promoted standby spent
its first caller turn embedding the tools and synthesising the session's lines (answers 5-8 s late).

The file is rewritten atomically (temp file + rename) only when a configuration is new to it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
KEPT = 4  # distinct configurations remembered (the inbound one, a campaign's, a callback's...)


def _key(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True)


class WarmSessions:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: list[dict[str, Any]] = self.read() if path else []

    def read(self) -> list[dict[str, Any]]:
        """The remembered configurations; none if the file is missing or unreadable (logged)."""
        if self.path is None or not self.path.exists():
            return []
        try:
            entries = json.loads(self.path.read_text())
            return [e for e in entries if isinstance(e, dict) and isinstance(e.get("instructions"), str)][-KEPT:]
        except (OSError, ValueError) as exc:
            log.warning("warm sessions file %s unreadable (%s); starting without it", self.path, exc)
            return []

    def remember(self, instructions: str, tools: list[dict[str, Any]], voice: str) -> bool:
        """Keep this configuration (most recent last); True if the file was rewritten. Blocking."""
        if self.path is None:
            return False
        entry = {"instructions": instructions, "tools": tools, "voice": voice}
        key = _key(entry)
        if any(_key(e) == key for e in self._entries):
            return False
        self._entries = [*self._entries, entry][-KEPT:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".warm-")
            with os.fdopen(fd, "w") as f:
                json.dump(self._entries, f)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("warm sessions file %s not written: %s", self.path, exc)
            return False
        return True
