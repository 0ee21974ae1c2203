"""The scrape config in infra/prometheus is checked by a real Prometheus (Debian's) scraping the
running stack, and every series the Grafana dashboard plots is one the product exports."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import aiohttp
import pytest

from tests.stack import Stack, free_port, softphone

ROOT = Path(__file__).resolve().parent.parent


async def test_prometheus_scrapes_the_stack_with_our_config(stack: Stack, tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed (scripts/install-system.sh installs it)")
    config = (ROOT / "infra/prometheus/prometheus.yml").read_text()
    assert '"127.0.0.1:8080"' in config
    config = config.replace('"127.0.0.1:8080"', f'"127.0.0.1:{stack.env["VOICEBOT_METRICS_PORT"]}"')
    (tmp_path / "prometheus.yml").write_text(config)
    port = free_port()
    code, out = await softphone(stack.uri, "Bye now.")  # a call to count
    assert code == 0, out
    proc = await asyncio.create_subprocess_exec(
        prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:

            async def query(expr: str) -> list[dict[str, object]]:
                async with http.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr}) as r:
                    result: list[dict[str, object]] = (await r.json())["data"]["result"]
                    return result

            async with asyncio.timeout(60):
                while True:  # (until it has scraped: a few seconds)
                    try:
                        up = await query('up{job="voicebot"}')
                        if up and up[0]["value"][1] == "1":  # type: ignore[index]
                            break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.5)
            calls = await query("sum(voicebot_calls_total)")
            children = await query("sum(voicebot_child_up)")
    finally:
        proc.terminate()
        await proc.wait()
    assert float(calls[0]["value"][1]) >= 1  # type: ignore[index]
    assert float(children[0]["value"][1]) >= 6  # type: ignore[index]  # redis, engine, 4 workers, ...


def test_the_dashboard_plots_only_series_the_product_exports() -> None:
    from bot import call_metrics
    from bot.supervisor_metrics import SupervisorMetrics

    exported = {m._name for m in vars(call_metrics).values() if hasattr(m, "_name")}
    exported |= {m._name for m in vars(SupervisorMetrics()).values() if hasattr(m, "_name")}
    dashboard = json.loads((ROOT / "infra/grafana/voicebot-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name) for e in exprs for name in re.findall(r"voicebot_\w+", e)}
    assert used and used <= exported, used - exported
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
