"""`voicebot run`: Redis (private, when none is configured), the engine, N SIP workers, and Kamailio
in front when N > 1 or SIP over TLS is on (with rtpengine beside it, for callers who offer SRTP). Any child that dies is restarted with backoff (its whole process group killed
first: Kamailio's forks outlive their parent and keep the SIP port); Ctrl-C stops everything, front
door first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import private_redis
from bot.calls_api import add_calls_api
from bot.child import Child
from bot.edge.engine_link import RealtimeTarget
from bot.front_door import RPC_SOCKET, FrontDoor
from bot.front_door_rpc import end_dialogs
from bot.live_calls import LiveCalls, add_live_routes
from bot.live_page import add_live_page
from bot.post_call import Deliverer
from bot.retention import keep_sweeping
from bot.settings import Settings
from bot.state import CallStore
from bot.supervisor_metrics import SupervisorMetrics
from flows.crm import seed
from sip.probe import options_ping

log = logging.getLogger(__name__)
RESTART_BACKOFF_S = (0.2, 1.0, 2.0, 5.0)
STABLE_S = 60.0  # a child up this long starts its backoff afresh
REAP_EVERY_S = 2.0
SPARE = "engine-standby"  # the loaded engine that takes over when the engine dies (VOICEBOT_ENGINE_STANDBY)
SPARE_AFTER_S = 10.0  # a new spare loads this long after the last one stood in (not while calls recover)


def _ended_early(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("supervisor task %s failed; it is not running any more", task.get_name(), exc_info=error)


@dataclass
class Supervisor:
    settings: Settings
    sip_port: int
    workers: int
    run_dir: Path
    host: str = "127.0.0.1"
    children: list[Child] = field(default_factory=list)
    worker_ports: list[int] = field(default_factory=list)
    redis_url: str = ""
    kamailio_dir: Path | None = None  # while Kamailio is in front
    metrics: SupervisorMetrics = field(default_factory=SupervisorMetrics)

    def _exe(self) -> str:
        return str(Path(sys.executable).with_name("voicebot"))

    async def run(self, ready: asyncio.Event | None = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        http: web.AppRunner | None = None
        try:
            env = dict(os.environ)
            if self.settings.metrics_port:  # the workers' and the engine's counts, merged at /metrics
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics.prepare(self.run_dir))
            env["REDIS_URL"] = self.redis_url = self.settings.redis_url or await self._start_redis(env)
            await self._seed(env["REDIS_URL"])
            http = await self._serve_http()
            if self.settings.realtime_kind == "local":
                await self._start_engine(env)
            await self._start_workers(env)
            if self._front_door:
                await self._start_media_proxy(env)
                await self._start_kamailio(env)
            log.info("ready: SIP on %s:%d (%d worker%s)", self.host, self.sip_port, self.workers,
                     "s" if self.workers > 1 else "")  # fmt: skip
            tls = (
                f", sip:bot@{self.host}:{self.settings.sip_tls_port};transport=tls"
                if self.settings.sip_tls_port
                else ""
            )
            if http is not None:
                base = f"http://{self.settings.metrics_host}:{self.settings.metrics_port}"
                print(f"metrics: {base}/metrics", flush=True)
                print(f"live calls: {base}/", flush=True)
            print(f"voicebot ready: sip:bot@{self.host}:{self.sip_port}{tls}", flush=True)
            if ready is not None:
                ready.set()
            owned = [asyncio.create_task(self._reap(env["REDIS_URL"]), name="reaper")]
            if self.settings.post_call_url:
                owned.append(asyncio.create_task(self._deliver(env["REDIS_URL"]), name="post-call"))
            if recordings := self.settings.recordings_path:
                days = self.settings.recording_retention_days
                owned.append(asyncio.create_task(keep_sweeping(Path(recordings), days), name="retention"))
            for task in owned:  # (each loops until cancelled: one that ends early is said at once)
                task.add_done_callback(_ended_early)
            try:
                await self._watch(stop)
            finally:
                for task in owned:
                    task.cancel()
                await asyncio.gather(*owned, return_exceptions=True)
        finally:
            await self._stop_all()
            if http is not None:
                await http.cleanup()

    async def _serve_http(self) -> web.AppRunner | None:
        """/metrics and the calls API (bot/calls_api.py) on the supervisor's port (0: neither)."""
        s = self.settings
        if not s.metrics_port:
            return None
        app = web.Application(client_max_size=64 * 1024)

        async def no_banner(request: web.Request, response: web.StreamResponse) -> None:
            response.headers["Server"] = "voicebot"  # (no product or version for a scanner to match)

        app.on_response_prepare.append(no_banner)
        self.metrics.add_to(app)
        redis = Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        key = s.api_key.get_secret_value() if s.api_key else None
        add_calls_api(app, redis, key)
        recordings = s.recordings_path
        add_live_routes(app, LiveCalls(redis, Path(recordings) if recordings else None))
        add_live_page(app, key, s.metrics_host)

        async def close_redis(app: web.Application) -> None:
            await redis.aclose()

        app.on_cleanup.append(close_redis)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, s.metrics_host, s.metrics_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise SystemExit(f"HTTP port {s.metrics_host}:{s.metrics_port} unavailable ({exc}); "
                             "set VOICEBOT_METRICS_PORT (0: no metrics or calls API)") from exc  # fmt: skip
        log.info("metrics at http://%s:%d/metrics, calls API at /calls", s.metrics_host, s.metrics_port)
        return runner

    async def _stop_all(self) -> None:
        """Front door first, then every worker at once (their calls end), then the engine and Redis."""
        order = ("kamailio", "rtpengine", "worker-", "engine", "redis")
        for prefix in order:
            group = [c for c in self.children if c.name.startswith(prefix)]
            await asyncio.gather(*(c.stop() for c in group))

    async def _start_redis(self, env: dict[str, str]) -> str:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed and REDIS_URL is not set (make run installs it)")
        port = self.settings.redis_port
        data = self.run_dir / "redis"
        secret = private_redis.password(data)  # a password even on loopback: other local users are not us
        conf = private_redis.write_config(data, secret)
        child = Child("redis", ["redis-server", str(conf), "--bind", self.host, "--port", str(port), "--dir", str(data),
                                "--appendonly", "yes", "--save", ""], env)  # fmt: skip
        await self._spawn(child)
        url = private_redis.url(self.host, port, secret)
        for _ in range(100):
            redis = Redis.from_url(url)
            try:
                await redis.ping()
                return url
            except (OSError, RedisError):
                await asyncio.sleep(0.1)
            finally:
                await redis.aclose()
        raise SystemExit(f"redis-server did not start on port {port}")

    async def _seed(self, url: str) -> None:
        redis = Redis.from_url(url)
        try:
            if not await redis.exists("crm:order:45721"):
                log.info("seeded %d demo CRM records", await seed(redis))
        finally:
            await redis.aclose()

    async def _start_engine(self, env: dict[str, str]) -> None:
        s = self.settings
        # The workers' sessions are the calls': the engine keeps capacity for clients with this key.
        env["VOICEBOT_ENGINE_EDGE_KEY"] = env["VOICEBOT_REALTIME_API_KEY"] = secrets.token_urlsafe(24)
        env["VOICEBOT_ENGINE_WARM_FILE"] = str(self.run_dir / "engine-warm.json")  # (what the standby prepares)
        argv = [self._exe(), "engine", "--host", s.engine_host, "--port", str(s.engine_port)]
        await self._spawn(Child("engine", argv, env))
        tls = s.engine_tls_cert is not None
        if tls and not s.realtime_ca_file:
            env["VOICEBOT_REALTIME_CA_FILE"] = str(s.engine_tls_cert)  # (a self-signed one is its own CA)
        target = RealtimeTarget("", ca_file=env.get("VOICEBOT_REALTIME_CA_FILE"))
        scheme = ("wss", "https") if tls else ("ws", "http")
        env["VOICEBOT_REALTIME_URL"] = f"{scheme[0]}://{s.engine_host}:{s.engine_port}/v1/realtime?model=voicebot-local"
        url = f"{scheme[1]}://{s.engine_host}:{s.engine_port}/health"
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):
                try:
                    async with http.get(url, ssl=target.ssl()) as r:
                        if r.status == 200:
                            if s.engine_standby:  # (after the engine: the two never load at once)
                                await self._spawn(Child(SPARE, [*argv, "--standby"], env, standby=True))
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("the engine did not start within 120 s")

    async def _start_workers(self, env: dict[str, str]) -> None:
        first = self.sip_port + 1 if self._front_door else self.sip_port
        self.worker_ports = [first + i for i in range(self.workers)]
        for i, port in enumerate(self.worker_ports):
            argv = [self._exe(), "sip-worker", "--host", self.host, "--port", str(port), "--id", f"w{i + 1}"]
            await self._spawn(Child(f"worker-{i + 1}", argv, env, worker_id=f"w{i + 1}"))
        for port in self.worker_ports:
            await self._until_answers(port, 30.0)

    @property
    def _front_door(self) -> bool:
        return self.workers > 1 or bool(self.settings.sip_tls_port)

    async def _start_media_proxy(self, env: dict[str, str]) -> None:
        """rtpengine, userspace only: it terminates SRTP for the callers who offer it."""
        rtpengine = shutil.which("rtpengine")
        if rtpengine is None:
            raise SystemExit("rtpengine is not installed (make run installs it)")
        low, high = self.settings.media_proxy_rtp_ports.split("-")
        # A config of its own: the package's /etc/rtpengine/rtpengine.conf (read by default) opens CLI
        # and HTTP ports every instance would share, and asks for the kernel module.
        folder = self.run_dir / "rtpengine"
        folder.mkdir(exist_ok=True)
        conf = folder / "rtpengine.conf"
        conf.write_text(f"[rtpengine]\ntable = -1\ninterface = {self.host}\n"
                        f"listen-ng = {self.host}:{self.settings.media_proxy_port}\nport-min = {low}\n"
                        f"port-max = {high}\ntimeout = 60\nforeground = true\nlog-stderr = true\nlog-level = 4\n")  # fmt: skip
        argv = [rtpengine, "--config-file", str(conf), "--no-fallback"]
        await self._spawn(Child("rtpengine", argv, env))

    async def _start_kamailio(self, env: dict[str, str]) -> None:
        kamailio = shutil.which("kamailio") or shutil.which("/usr/sbin/kamailio")
        if kamailio is None:
            raise SystemExit("kamailio is not installed (make run installs it)")
        kdir = self.run_dir / "kamailio"
        FrontDoor.of(self.settings, self.sip_port, self.worker_ports, self.run_dir).render(kdir)
        argv = [kamailio, "-DD", "-E", "-f", str(kdir / "kamailio.cfg"), "-P", str(kdir / "kamailio.pid"),
                "-Y", str(kdir), "-w", str(kdir), "-m", "64", "-M", "8"]  # fmt: skip
        await self._spawn(Child("kamailio", argv, env))
        self.kamailio_dir = kdir
        await self._until_answers(self.sip_port, 15.0)

    async def _spawn(self, child: Child) -> None:
        self.children.append(child)
        await child.start()
        self.metrics.started(child.name)

    async def _until_answers(self, port: int, timeout_s: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if await options_ping(self.host, port, 0.5) == 200:
                return
            await asyncio.sleep(0.1)
        raise SystemExit(f"nothing answers SIP OPTIONS on {self.host}:{port}")

    async def _deliver(self, redis_url: str) -> None:
        """Post-call documents (bot/post_call.py); the deliverer failing is logged and it starts again."""
        s = self.settings
        redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        first = s.post_call_retry_s
        deliverer = Deliverer(redis, str(s.post_call_url), s.post_call_secret.get_secret_value() if s.post_call_secret
                              else "", tuple(first * k for k in (1, 3, 12, 60, 180, 720)),
                              recordings_url=f"http://{s.metrics_host}:{s.metrics_port}/recordings"
                              if s.metrics_port and s.recordings_path else None)  # fmt: skip
        try:
            while True:
                try:
                    await deliverer.run()
                except Exception:
                    log.exception("post-call deliverer failed; starting it again in 5 s")
                    await asyncio.sleep(5.0)
        finally:
            await redis.aclose()

    async def _reap(self, redis_url: str) -> None:
        """Every few seconds: end the calls of workers that stopped heartbeating (killed, hung).

        A call is ended only when its worker was silent on two passes in a row, so a Redis outage
        (heartbeats lost, then written again) never ends a call that is still up."""
        redis = Redis.from_url(redis_url)
        store = CallStore(redis, post_call=bool(self.settings.post_call_url))
        suspects: set[str] = set()
        try:
            while True:
                await asyncio.sleep(REAP_EVERY_S)
                try:
                    orphaned = set(await store.orphaned())
                    ended = sorted(orphaned & suspects)
                    await store.end_calls(ended, "worker_died", at_last_heartbeat=True)
                except (RedisError, OSError) as exc:
                    log.warning("reaper: redis unavailable: %s", exc)
                    suspects.clear()
                    continue
                suspects = orphaned - set(ended)
                if ended:
                    log.warning("reaper: ended %d calls of dead workers: %s", len(ended), ", ".join(ended))
        finally:
            await redis.aclose()

    async def _watch(self, stop: asyncio.Event) -> None:
        """Until Ctrl-C: any child that exits is restarted, after its group is killed and a backoff
        that grows while it keeps dying (engine, workers, Kamailio, the private Redis alike)."""
        while not stop.is_set():
            for child in self.children:
                proc = child.proc
                if proc is None and child.due_at is not None and asyncio.get_running_loop().time() >= child.due_at:
                    child.due_at = None  # (a spare that stood in: its successor starts now)
                    await child.start()
                    self.metrics.started(child.name)
                if proc is None or proc.returncode is None or child.stopping:
                    continue
                await self._restart(child, proc.returncode)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    async def _restart(self, child: Child, code: int) -> None:
        loop = asyncio.get_running_loop()
        if child.name == "engine" and self._promote_spare(child, code):
            return
        if loop.time() - child.started_at >= STABLE_S:
            child.restarts = 0
        delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
        log.error("%s exited with %s; restart %d in %.1f s", child.name, code, child.restarts + 1, delay)
        child.kill_group()  # (Kamailio's forks still hold the SIP port and answer 503)
        self.metrics.died(child.name, child.proc.pid if child.proc else None)
        if child.worker_id is not None:
            await self._hang_up_for(child.worker_id)
        child.restarts += 1
        child.proc = None
        await asyncio.sleep(delay)
        await child.start()
        self.metrics.started(child.name)

    def _promote_spare(self, engine: Child, code: int) -> bool:
        """The dead engine's standby takes its place (SIGUSR1: it binds the port and serves); a new
        spare is loaded SPARE_AFTER_S later, once the calls are back. False: no spare ready."""
        spare = next((c for c in self.children if c.name == SPARE), None)
        if spare is None or spare.proc is None or spare.proc.returncode is not None:
            return False
        log.error("engine exited with %s; its standby (pid %d) takes over", code, spare.proc.pid)
        engine.kill_group()
        self.metrics.died(engine.name, engine.proc.pid if engine.proc else None)
        spare.proc.send_signal(signal.SIGUSR1)
        engine.proc, engine.started_at, spare.proc = spare.proc, spare.started_at, None
        engine.restarts += 1
        self.metrics.started(engine.name)
        self.metrics.up.labels(SPARE).set(0)  # (until its successor is loaded)
        spare.due_at = asyncio.get_running_loop().time() + SPARE_AFTER_S
        return True

    async def _hang_up_for(self, worker_id: str) -> None:
        """A dead worker's calls end now (seen within a fraction of a second of its death): their
        records say so, and its callers get a BYE from the front door (the worker cannot send one).
        Redis unreachable: the worker's next life ends the records, at its last heartbeat."""
        redis = Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            store = CallStore(redis, post_call=bool(self.settings.post_call_url))
            calls = await store.calls_of(worker_id)
            await store.end_calls(calls, "worker_died")
        except (RedisError, OSError) as exc:
            log.warning("calls of %s unknown (redis: %s); its callers get no BYE", worker_id, exc)
            return
        finally:
            await redis.aclose()
        if calls and self.kamailio_dir is not None:
            ended = await end_dialogs(self.kamailio_dir / RPC_SOCKET, calls)
            log.warning("front door hung up %d of %d calls of dead worker %s", ended, len(calls), worker_id)
