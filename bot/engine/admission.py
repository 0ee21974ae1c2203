"""Who may open an engine session. The edge's calls (clients that present the supervisor's edge key)
may use the engine's whole capacity; any other client (by address) gets at most `per_client`
sessions, and all of them together never more than what is left after `reserved_for_edge`: idle
connections from one client, or many, cannot take the sessions phone calls need.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EDGE = "edge"


@dataclass
class Admission:
    max_sessions: int
    reserved_for_edge: int
    per_client: int
    _open: Counter[str] = field(default_factory=Counter)

    def admit(self, client: str) -> str | None:
        """None when a session for `client` (EDGE, or an address) may open — then `leave` it when it
        ends — else why not, for the 503."""
        total = sum(self._open.values())
        if total >= self.max_sessions:
            return f"engine at capacity ({self.max_sessions} sessions); retry later"
        if client != EDGE:
            others = total - self._open[EDGE]
            if others >= self.max_sessions - self.reserved_for_edge:
                return f"the engine's other {self.reserved_for_edge} sessions are kept for phone calls; retry later"
            if self._open[client] >= self.per_client:
                return f"{self.per_client} sessions at most per client; close one first"
        self._open[client] += 1
        return None

    def leave(self, client: str) -> None:
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]
