"""Tool calls on a call: each runs beside the engine's event stream (barge-in and hang-up never wait
behind a slow system), as a task of the call's task group; a slow one gets a spoken filler; the
reply to the outputs is asked for once every tool is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot.call_metrics import TOOL_CALLS, TOOL_SECONDS
from flows.registry import CallContext, ToolRegistry, ToolResult

FILLER_AFTER_S = 1.0  # a tool slower than this gets a spoken filler


class ToolRunner:
    def __init__(self, tools: ToolRegistry, context: CallContext, send_output: Callable[[str, Any], None], *,
                 filler: Callable[[], None], on_action: Callable[[str, dict[str, Any]], None],
                 on_output: Callable[[], None], on_pci: Callable[[bool], None] = lambda on: None,
                 filler_after_s: float = FILLER_AFTER_S) -> None:  # fmt: skip
        self._tools = tools
        self._context = context
        self._send_output = send_output  # to the engine the call has now (it may have been replaced)
        self._filler = filler  # says the filler, unless the bot is speaking already
        self._on_action = on_action  # what the tool asks the call to do once the bot has spoken
        self._on_output = on_output  # an output was sent: the session sees whether the reply is due
        self._on_pci = on_pci  # a flow starts or ends taking card data (the recording pauses)
        self._filler_after_s = filler_after_s
        self.running = 0
        self._outputs_pending = False

    @property
    def busy(self) -> bool:
        """A tool is running, or its output waits for a reply."""
        return self.running > 0 or self._outputs_pending

    def start(self, group: asyncio.TaskGroup, name: str, call_id: str, arguments: str) -> None:
        self.running += 1
        group.create_task(self._run(name, call_id, arguments), name=f"tool-{name[:40]}")

    async def _run(self, name: str, call_id: str, arguments: str) -> None:
        began = time.perf_counter()
        try:
            work = asyncio.ensure_future(self._tools.call(name, arguments, self._context))
            try:
                done, _ = await asyncio.wait([work], timeout=self._filler_after_s)
                if not done:
                    self._filler()  # a slow system: no dead air
                result: ToolResult = await work
            finally:
                work.cancel()
        finally:
            self.running -= 1
        label = name if name in self._tools.names() else "unknown"  # (a bounded label set)
        TOOL_CALLS.labels(label, "error" if "error" in result.output else "ok").inc()
        TOOL_SECONDS.labels(label).observe(time.perf_counter() - began)
        if result.pci is not None:
            self._on_pci(result.pci)
        if result.action is not None:
            self._on_action(result.action, result.action_args)
        self._send_output(call_id, result.output)
        self._outputs_pending = True
        self._on_output()

    def reply_due(self, reply_active: bool) -> bool:
        """True once: every tool is done, an output waits, nothing else is speaking. The caller asks
        for the reply then."""
        if self._outputs_pending and not self.running and not reply_active:
            self._outputs_pending = False
            return True
        return False
