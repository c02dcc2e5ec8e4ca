"""The scoring endpoint on a real local Ray Serve, with LightGBM models trained here.

One Serve instance for the module (loopback, a free port), shut down at the end. Covers
scoring (HTTP and handle), the error contract (404, 422 naming the field, 503, 401), a hot swap
and a rollback under load (no failed request, each response scored by the version it names,
versions change once per client, the replica is reconfigured, not replaced), and a property
test that no request body yields a 5xx.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from core.clock import LiveClock
from core.errors import ConfigError, PermanentError, TemporaryError
from serving.client import FallbackScorer, HandleScorer, HttpScorer
from serving.deploy import current_config, deploy, update_versions
from serving.errors import ScoringRejected, ScoringUnavailable
from serving.options import ServingOptions
from training.registry import ModelRegistry

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]

FEATURES = ["ret_5", "rsi_14", "vol_20"]
WINDOW = (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 6, 28, tzinfo=UTC))
ROW = {"ret_5": 0.01, "rsi_14": 55.0, "vol_20": 0.2}


def _train(seed: int) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, len(FEATURES)))
    y = (x[:, 0] * (1 + seed) - x[:, 2] + rng.normal(scale=0.5, size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": seed, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(x, y, feature_name=FEATURES), num_boost_round=15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    port: int
    registry: ModelRegistry
    root: Path
    boosters: dict[str, lgb.Booster]
    handle: Any

    def expected(self, version: str, rows: list[dict[str, float]]) -> list[float]:
        matrix = np.array([[r[f] for f in FEATURES] for r in rows])
        return [float(s) for s in self.boosters[version].predict(matrix)]


@pytest.fixture(scope="module")
def served(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from ray import serve

    root = tmp_path_factory.mktemp("registry")
    registry = ModelRegistry(root, LiveClock())
    boosters = {}
    for seed in (1, 2):
        booster = _train(seed)
        model = registry.register(
            "alpha",
            booster.model_to_string().encode(),
            metrics={"sharpe": 1.0 + seed, "n_trades": 120},
            features=FEATURES,
            feature_hash="test",
            data_window=WINDOW,
            params={"seed": seed},
            code_version="test",
        )
        boosters[model.version] = booster
    registry.register(
        "beta",
        _train(3).model_to_string().encode(),
        metrics={},
        features=FEATURES,
        feature_hash="test",
        data_window=WINDOW,
        params={},
        code_version="test",
    )
    registry.promote("alpha", "v0001")  # beta: registered, never promoted
    port = _free_port()
    handle = deploy(root, ["alpha", "beta"], ServingOptions(port=port, replica_cpus=0.25))
    try:
        yield Served(f"http://127.0.0.1:{port}", port, registry, root, boosters, handle)
    finally:
        serve.shutdown()


@pytest.fixture(scope="module")
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        yield client


def test_scores_rows_with_the_promoted_model(served: Served, http: httpx.Client) -> None:
    rows = [ROW, {"ret_5": -0.03, "rsi_14": 20.0, "vol_20": 0.5}]
    reply = http.post("/v1/score/alpha", json={"rows": rows})
    assert reply.status_code == 200
    body = reply.json()
    assert body["strategy"] == "alpha"
    assert body["model_version"] == "v0001"
    assert body["features"] == FEATURES
    assert body["scores"] == pytest.approx(served.expected("v0001", rows), abs=1e-12)


def test_feature_order_in_the_row_does_not_matter(served: Served, http: httpx.Client) -> None:
    shuffled = {"vol_20": 0.2, "ret_5": 0.01, "rsi_14": 55}
    reply = http.post("/v1/score/alpha", json={"rows": [shuffled]})
    assert reply.json()["scores"] == pytest.approx(served.expected("v0001", [ROW]), abs=1e-12)


def test_unknown_strategy_is_404(http: httpx.Client) -> None:
    reply = http.post("/v1/score/nope", json={"rows": [ROW]})
    assert reply.status_code == 404
    assert reply.json()["error"] == "unknown_strategy"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": [{**ROW, "rsi_14": "high"}]}, "rows[0].rsi_14"),
        ({"rows": [ROW, {**ROW, "vol_20": True}]}, "rows[1].vol_20"),
        ({"rows": [{"ret_5": 0.1, "rsi_14": 50.0}]}, "rows[0].vol_20"),
        ({"rows": [{**ROW, "bogus": 1.0}]}, "rows[0].bogus"),
        ({"rows": []}, "rows"),
        ({"rows": "x"}, "rows"),
        ({}, "rows"),
        ({"rows": [ROW], "extra": 1}, "extra"),
        ({"rows": [ROW] * 10_001}, "rows"),
    ],
)
def test_bad_rows_are_422_naming_the_field(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    reply = http.post("/v1/score/alpha", json=body)
    assert reply.status_code == 422
    error = reply.json()
    assert error["error"] == "invalid_request"
    assert error["fields"][0]["field"] == field


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"rows": [{"ret_5": NaN, "rsi_14": 1, "vol_20": 1}]}', "rows[0].ret_5"),
        (b'{"rows": [{"ret_5": 1, "rsi_14": 1e999, "vol_20": 1}]}', "rows[0].rsi_14"),
        (b'{"rows": [{"ret_5": 1, "rsi_14": 1, "vol_20": 1' + b"0" * 400 + b"}]}", "rows[0].vol_20"),
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
    ],
)
def test_non_finite_and_malformed_bodies_are_422(http: httpx.Client, raw: bytes, field: str) -> None:
    reply = http.post("/v1/score/alpha", content=raw, headers={"content-type": "application/json"})
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["field"] == field


def test_nothing_promoted_is_503_and_the_fallback_records_it(served: Served, http: httpx.Client) -> None:
    reply = http.post("/v1/score/beta", json={"rows": [ROW]})
    assert reply.status_code == 503
    assert "no model has been promoted for 'beta'" in reply.json()["message"]
    with HttpScorer(served.url) as scorer:
        with pytest.raises(ScoringUnavailable):
            scorer.score("beta", [ROW])
        with pytest.raises(ScoringRejected):
            scorer.score("alpha", [{"ret_5": 1.0}])
        fallback = FallbackScorer(scorer)
        assert fallback.score("beta", [ROW]) is None
        assert fallback.score("alpha", [{"ret_5": 1.0}]) is None
        assert fallback.score("alpha", [ROW]) is not None
        assert fallback.fallbacks == {("beta", "unavailable"): 1, ("alpha", "rejected"): 1}


def test_unreachable_endpoint_is_a_temporary_error() -> None:
    with (
        HttpScorer(f"http://127.0.0.1:{_free_port()}", timeout_s=0.5) as scorer,
        pytest.raises(TemporaryError),
    ):
        scorer.score("alpha", [ROW])


def test_models_health_readiness_and_docs(http: httpx.Client) -> None:
    models = {m["strategy"]: m for m in http.get("/v1/models").json()["models"]}
    assert models["alpha"]["version"] == "v0001"
    assert models["alpha"]["loaded"] is True
    assert models["alpha"]["metrics"]["sharpe"] == 2.0
    assert models["beta"]["version"] is None
    assert http.get("/healthz").json()["status"] == "ok"
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["versions"] == {"alpha": "v0001"}
    assert http.get("/docs").status_code == 200
    assert "/v1/score/{strategy}" in http.get("/openapi.json").json()["paths"]
    assert http.get("/v1/nope").status_code == 404
    assert http.delete("/v1/models").status_code == 405


def test_handle_scorer_inside_the_cluster(served: Served) -> None:
    scores = HandleScorer(served.handle, timeout_s=10).score("alpha", [ROW])
    assert scores.model_version == "v0001"
    assert list(scores.scores) == pytest.approx(served.expected("v0001", [ROW]), abs=1e-12)
    with pytest.raises(PermanentError):
        HandleScorer(served.handle).score("nope", [ROW])


def _load(served: Served, stop: threading.Event, results: list[list[tuple[str, bool]]], n: int) -> None:
    """A client loop: (version, scores match that version) per response; failures as ('ERR...', False)."""
    mine: list[tuple[str, bool]] = []
    results.append(mine)
    rows = [ROW, {"ret_5": -0.02, "rsi_14": 31.0, "vol_20": 0.4}]
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for _ in range(n):
            if stop.is_set():
                break
            try:
                reply = client.post("/v1/score/alpha", json={"rows": rows})
                body = reply.json()
                if reply.status_code != 200:
                    mine.append((f"ERR {reply.status_code} {body}", False))
                    continue
                version = body["model_version"]
                ok = body["scores"] == pytest.approx(served.expected(version, rows), abs=1e-12)
                mine.append((version, bool(ok)))
            except Exception as exc:
                mine.append((f"ERR {exc!r}", False))


def _swap_under_load(served: Served, action: str, before: str, after: str) -> None:
    stop = threading.Event()
    results: list[list[tuple[str, bool]]] = []
    threads = [threading.Thread(target=_load, args=(served, stop, results, 400)) for _ in range(4)]
    replica = httpx.get(f"{served.url}/healthz").json()["replica"]
    for t in threads:
        t.start()
    time.sleep(0.5)
    if action == "promote":
        served.registry.promote("alpha", after)
    else:
        assert served.registry.rollback("alpha").version == after
    assert update_versions()["alpha"] == after
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert httpx.get(f"{served.url}/healthz").json()["replica"] == replica, "replica was replaced"
    for mine in results:
        failed = [v for v, _ in mine if v.startswith("ERR")]
        assert failed == []
        assert all(ok for _, ok in mine), "a response's scores do not match the version it names"
        versions = [v for v, _ in mine]
        changes = [(a, b) for a, b in itertools.pairwise(versions) if a != b]
        assert changes in ([], [(before, after)]), f"versions not monotonic: {changes}"
        assert versions[-1] == after
    assert sum(len(m) for m in results) >= 20


def test_hot_swap_and_rollback_under_load(served: Served) -> None:
    _swap_under_load(served, "promote", "v0001", "v0002")
    assert current_config().versions["alpha"] == "v0002"
    _swap_under_load(served, "rollback", "v0002", "v0001")
    assert httpx.get(f"{served.url}/readyz").json()["versions"] == {"alpha": "v0001"}


def test_non_loopback_host_requires_a_token(served: Served) -> None:
    with pytest.raises(ConfigError, match=r"serve\.token"):
        ServingOptions(host="0.0.0.0").check_bind()
    with pytest.raises(ConfigError):
        deploy(served.root, ["alpha"], ServingOptions(host="0.0.0.0", port=_free_port()))
    ServingOptions(host="0.0.0.0", token=SecretStr("s3cret")).check_bind()
    ServingOptions(host="localhost").check_bind()


def test_token_is_enforced_when_set_and_swapped_in_place(served: Served, http: httpx.Client) -> None:
    replica = http.get("/healthz").json()["replica"]
    strategies = ["alpha", "beta"]
    deploy(
        served.root,
        strategies,
        ServingOptions(port=served.port, replica_cpus=0.25, token=SecretStr("s3cret")),
    )
    try:
        assert http.post("/v1/score/alpha", json={"rows": [ROW]}).status_code == 401
        assert http.get("/v1/models").status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert http.post("/v1/score/alpha", json={"rows": [ROW]}, headers=wrong).status_code == 401
        with HttpScorer(served.url, token=SecretStr("s3cret")) as scorer:
            assert scorer.score("alpha", [ROW]).model_version == "v0001"
        assert "s3cret" not in json.dumps(current_config().to_user_config())
        assert http.get("/healthz").status_code == 200
    finally:
        deploy(served.root, strategies, ServingOptions(port=served.port, replica_cpus=0.25))
    assert http.post("/v1/score/alpha", json={"rows": [ROW]}).status_code == 200
    assert http.get("/healthz").json()["replica"] == replica


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_json_any = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_feature = st.sampled_from([*FEATURES, "bogus", ""])
_row = st.dictionaries(_feature, _json_leaf | st.floats(), max_size=5) | _json_any
_body = st.one_of(
    st.builds(lambda rows: {"rows": rows}, st.lists(_row, max_size=4)),
    st.builds(
        lambda rows: {"rows": rows},
        st.lists(st.fixed_dictionaries({f: st.floats() for f in FEATURES}), max_size=3),
    ),
    _json_any,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_body | st.binary(max_size=64))
def test_no_request_body_yields_a_5xx(http: httpx.Client, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()  # NaN/Infinity literals included
    reply = http.post("/v1/score/alpha", content=raw, headers={"content-type": "application/json"})
    assert reply.status_code in (200, 422), reply.text
    if reply.status_code == 422:
        assert reply.json()["fields"]
