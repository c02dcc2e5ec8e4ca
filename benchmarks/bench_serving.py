"""Serving latency and throughput: a default Serve deployment vs raydesk's vs direct predict.

One run, loopback only, bounded: each level runs ``DURATION_S`` seconds (wrk) or
``MAX_REQUESTS`` requests (the Python fallback load generator). The load generator is ``wrk``
when installed (``apt-get install -y wrk``; C, little CPU), else asyncio + aiohttp in a
separate process. Updates the "## Serving: latency and throughput" section of RESULTS.md.

    .venv/bin/python benchmarks/bench_serving.py [--no-write]
"""

# No ``from __future__ import annotations``: FastAPI resolves the default app's body model.

import json
import multiprocessing
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.results import write_section as write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Serving: latency and throughput"
N_FEATURES = 20
N_TREES = 100
LEVELS = (1, 8, 32)
DURATION_S = 5
MAX_REQUESTS = 2000
FEATURES = [f"f{i:02d}" for i in range(N_FEATURES)]


# -- the model -------------------------------------------------------------------------------
def train() -> lgb.Booster:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5000, N_FEATURES))
    y = (x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=0.7, size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 31, "verbose": -1, "seed": 7, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(x, y, feature_name=FEATURES), num_boost_round=N_TREES)


def rows(n: int, seed: int = 1) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [dict(zip(FEATURES, map(float, r), strict=True)) for r in rng.normal(size=(n, N_FEATURES))]


# -- (a) the default deployment: what the Serve docs show ------------------------------------
def default_app(model_text: str) -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel
    from ray import serve

    api = FastAPI()

    class Body(BaseModel):
        rows: list[dict[str, float]]

    @serve.deployment
    @serve.ingress(api)
    class Default:
        def __init__(self, text: str) -> None:
            self.booster = lgb.Booster(model_str=text)
            self.features = self.booster.feature_name()

        @api.post("/v1/score/{strategy}")
        def score(self, strategy: str, body: Body) -> dict[str, Any]:
            x = np.array([[r[f] for f in self.features] for r in body.rows])
            return {"strategy": strategy, "scores": np.asarray(self.booster.predict(x)).tolist()}

    return cast(Any, Default).bind(model_text)


# -- load generation -------------------------------------------------------------------------
def wrk(url: str, body: bytes, concurrency: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body.decode())}\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{DURATION_S}s", "--latency", "-s", lua.name, url],
            capture_output=True,
            text=True,
            timeout=DURATION_S + 60,
            check=True,
        ).stdout
    finally:
        Path(lua.name).unlink()

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (sum(map(int, sock.groups())) if sock else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"p50": ms("50%"), "p99": ms("99%"), "rps": rps, "n": total, "failed": failed}


def _aiohttp_worker(url: str, body: bytes, concurrency: int, out: Any) -> None:
    import asyncio

    import aiohttp

    async def main() -> dict[str, float]:
        latencies: list[float] = []
        failed = 0
        budget = MAX_REQUESTS
        deadline = time.perf_counter() + DURATION_S

        async def client(session: aiohttp.ClientSession) -> None:
            nonlocal budget, failed
            while budget > 0 and time.perf_counter() < deadline:
                budget -= 1
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers={"content-type": "application/json"}) as r:
                    await r.read()
                    failed += r.status != 200
                latencies.append((time.perf_counter() - t0) * 1000)

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = time.perf_counter()
            await asyncio.gather(*(client(session) for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        q = statistics.quantiles(latencies, n=100)
        return {
            "p50": q[49],
            "p99": q[98],
            "rps": len(latencies) / elapsed,
            "n": len(latencies),
            "failed": failed,
        }

    out.put(asyncio.run(main()))


def server_cpu_s() -> float:
    """CPU seconds used so far by this run's Serve proxy and replicas (robust to a busy machine)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if " ".join(proc.cmdline()).startswith(("ray::ProxyActor", "ray::ServeReplica")):
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def load(url: str, body: bytes, concurrency: int) -> dict[str, float]:
    before = server_cpu_s()
    result = _load(url, body, concurrency)
    result["cpu_ms"] = (server_cpu_s() - before) * 1000 / max(result["n"], 1)
    result["loadavg"] = os.getloadavg()[0]  # the 1-minute load at the end of the level
    return result


def _load(url: str, body: bytes, concurrency: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(url, body, concurrency)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_aiohttp_worker, args=(url, body, concurrency, queue))
    proc.start()
    result: dict[str, float] = queue.get(timeout=DURATION_S + 60)
    proc.join()
    return result


def warm(url: str, body: bytes) -> None:
    import httpx

    with httpx.Client(timeout=30) as client:
        for _ in range(50):
            client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()


def big_request(url: str, body: bytes, repeats: int = 20) -> float:
    """Rows per second for 1,000-row requests, one at a time."""
    import httpx

    with httpx.Client(timeout=30) as client:
        client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()
        t0 = time.perf_counter()
        for _ in range(repeats):
            client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()
        return repeats * 1000 / (time.perf_counter() - t0)


# -- (c) direct predict ----------------------------------------------------------------------
def direct(booster: lgb.Booster) -> dict[str, float]:
    one = np.array([list(rows(1)[0].values())])
    lat = []
    for _ in range(2000):
        t0 = time.perf_counter()
        booster.predict(one, num_threads=1)
        lat.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(lat, n=100)
    big = np.array([list(r.values()) for r in rows(1000)])
    booster.predict(big, num_threads=1)
    t0 = time.perf_counter()
    for _ in range(50):
        booster.predict(big, num_threads=1)
    return {
        "p50": q[49],
        "p99": q[98],
        "rps": 1000 / statistics.fmean(lat),
        "rows_s": 50_000 / (time.perf_counter() - t0),
    }


# -- the run ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run() -> dict[str, Any]:
    import ray
    from ray import serve

    from core.clock import LiveClock
    from serving.deploy import deploy
    from serving.options import ServingOptions
    from training.registry import ModelRegistry

    booster = train()
    text = booster.model_to_string()
    one = json.dumps({"rows": rows(1)}).encode()
    thousand = json.dumps({"rows": rows(1000)}).encode()
    results: dict[str, Any] = {"direct": direct(booster), "loadavg": os.getloadavg()[0]}

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        # The default app behind Serve's proxy; then a fresh Serve without a proxy for ours.
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(default_app(text), name="bench-default", route_prefix="/default")
        url = f"http://127.0.0.1:{port}/default/v1/score/bench"
        warm(url, one)
        results["default"] = {c: load(url, one, c) for c in LEVELS}
        results["default"]["big_rows_s"] = big_request(url, thousand)
        shutdown_serve: Any = serve.shutdown  # untyped in Ray
        shutdown_serve()

        with tempfile.TemporaryDirectory() as tmp:
            registry = ModelRegistry(Path(tmp), LiveClock())
            window = (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC))
            registry.register(
                "bench", text.encode(), metrics={}, features=FEATURES, feature_hash="bench",
                data_window=window, params={}, code_version="bench",
            )  # fmt: skip
            registry.promote("bench", "v0001")
            options = ServingOptions(port=free_port())
            deploy(Path(tmp), ["bench"], options)
            url = f"http://127.0.0.1:{options.port}/v1/score/bench"
            warm(url, one)
            results["ours"] = {c: load(url, one, c) for c in LEVELS}
            results["ours"]["big_rows_s"] = big_request(url, thousand)
            results["options"] = options
    finally:
        shutdown: Any = serve.shutdown  # untyped in Ray
        shutdown()
        ray.shutdown()
    return results


def report(r: dict[str, Any]) -> str:
    d, ours, default = r["direct"], r["ours"], r["default"]
    gen = (
        "wrk 4 (-t1, 5 s per level)"
        if shutil.which("wrk")
        else f"aiohttp ({MAX_REQUESTS} requests or {DURATION_S} s)"
    )
    o = r["options"]
    lines = [
        SECTION,
        "",
        f"`python benchmarks/bench_serving.py` on {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {r['loadavg']:.1f} at the start (a shared machine: absolute figures are noisy, "
        "server CPU per request is not), "
        f"Ray {__import__('ray').__version__}, LightGBM {lgb.__version__}; one-row requests, {N_FEATURES} features, "
        f"{N_TREES} trees of 31 leaves; loopback HTTP; load generator {gen}, a separate process. "
        f"Ours: 1 replica ({o.replica_cpus} CPU) answering HTTP on its own listener (uvicorn + httptools, "
        "raw ASGI score route; no Serve proxy on the path), coalesced predict. Default: "
        "`@serve.deployment` + FastAPI ingress behind Serve's proxy, pydantic body, predict per request, "
        "Serve defaults. Load: the 1-minute load average at the end of each level.",
        "",
        "| deployment | clients | p50 ms | p99 ms | requests/s | failed | server CPU ms/request | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, res in (("default Serve", default), ("raydesk-scoring", ours)):
        for c in LEVELS:
            x = res[c]
            lines.append(
                f"| {name} | {c} | {x['p50']:.2f} | {x['p99']:.2f} | {x['rps']:,.0f} | {x['failed']} "
                f"| {x['cpu_ms']:.2f} | {x['loadavg']:.1f} |"
            )
    lines.append(
        f"| direct `booster.predict` (1 row, in process) | 1 | {d['p50']:.3f} | {d['p99']:.3f} "
        f"| {d['rps']:,.0f} | 0 | - | {r['loadavg']:.1f} |"
    )
    ratio8 = ours[8]["rps"] / default[8]["rps"]
    big_share = ours["big_rows_s"] / d["rows_s"]
    lines += [
        "",
        "| 1,000 rows in one request | rows/s |",
        "| --- | --- |",
        f"| default Serve | {default['big_rows_s']:,.0f} |",
        f"| raydesk-scoring | {ours['big_rows_s']:,.0f} |",
        f"| direct `booster.predict` | {d['rows_s']:,.0f} |",
        "",
        "Targets: "
        f"≥ 3× the default's requests/s at 8 clients: {ratio8:.1f}× ({'met' if ratio8 >= 3 else 'NOT met'}); "
        f"no collapse at 32 clients (p99 < 200 ms): {ours[32]['p99']:.1f} ms "
        f"({'met' if ours[32]['p99'] < 200 else 'NOT met'}); "
        f"1,000-row scoring ≥ 25% of direct predict: {big_share:.0%} ({'met' if big_share >= 0.25 else 'NOT met'}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    section = report(run())
    print(section)
    if "--no-write" not in sys.argv:
        write_results(SECTION, section)
