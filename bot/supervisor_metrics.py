"""What `voicebot run`'s supervisor reports at GET /metrics (prometheus-client): each child process
up or not, and how often it was restarted (labels: the children's names, a bounded set), merged
with what the workers and the engine count (bot/call_metrics.py): they write prometheus-client's
multiprocess files under the run dir's `metrics/` (PROMETHEUS_MULTIPROC_DIR, set for them only),
which this process reads at each scrape. A child that died is marked dead (its live gauges go).

Served on the supervisor's HTTP port (`VOICEBOT_METRICS_HOST:VOICEBOT_METRICS_PORT`, 127.0.0.1:8080).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest, multiprocess


def merged(folder: Path) -> bytes:
    """What the processes writing into `folder` count, merged (prometheus-client's multiprocess mode)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    return bytes(generate_latest(registry))


async def serve_folder(folder: Path, host: str, port: int) -> None:
    """`voicebot metrics-server`: GET /metrics for processes that run without a supervisor (each in
    its own container, sharing `folder`: docker-compose.yml). Until cancelled."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=merged(folder), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"metrics: http://{host}:{port}/metrics", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class SupervisorMetrics:
    def __init__(self) -> None:
        self.children_dir: Path | None = None  # the children's multiprocess files, once prepared
        self.registry = CollectorRegistry()
        self.restarts = Counter("voicebot_child_restarts", "Times a child process was restarted after it died",
                                ["child"], registry=self.registry)  # fmt: skip
        self.up = Gauge("voicebot_child_up", "1 while the child process runs", ["child"], registry=self.registry)

    def started(self, child: str) -> None:
        self.restarts.labels(child)  # (the series exists from the start, at 0)
        self.up.labels(child).set(1)

    def prepare(self, run_dir: Path) -> Path:
        """An empty folder for the children's files (a previous run's are stale)."""
        folder = run_dir / "metrics"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.children_dir = folder
        return folder

    def died(self, child: str, pid: int | None = None) -> None:
        self.up.labels(child).set(0)
        self.restarts.labels(child).inc()
        if pid is not None and self.children_dir is not None:
            multiprocess.mark_process_dead(pid, str(self.children_dir))  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        body = generate_latest(self.registry)
        return body + merged(self.children_dir) if self.children_dir is not None else body

    def add_to(self, app: web.Application) -> None:
        async def metrics(request: web.Request) -> web.Response:
            return web.Response(body=self.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app.router.add_get("/metrics", metrics)
