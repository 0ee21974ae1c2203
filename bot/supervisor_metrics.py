"""What `voicebot run`'s supervisor reports at GET /metrics (prometheus-client): each child process
up or not, and how often it was restarted. Labels are the children's names (redis, engine,
worker-1..N, rtpengine, kamailio): a bounded set.

Served on the supervisor's HTTP port (`VOICEBOT_METRICS_HOST:VOICEBOT_METRICS_PORT`, 127.0.0.1:8080).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class SupervisorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.restarts = Counter("voicebot_child_restarts", "Times a child process was restarted after it died",
                                ["child"], registry=self.registry)  # fmt: skip
        self.up = Gauge("voicebot_child_up", "1 while the child process runs", ["child"], registry=self.registry)

    def started(self, child: str) -> None:
        self.restarts.labels(child)  # (the series exists from the start, at 0)
        self.up.labels(child).set(1)

    def died(self, child: str) -> None:
        self.up.labels(child).set(0)
        self.restarts.labels(child).inc()

    def add_to(self, app: web.Application) -> None:
        async def metrics(request: web.Request) -> web.Response:
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app.router.add_get("/metrics", metrics)
