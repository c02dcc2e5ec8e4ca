"""Serving logic without Ray: request validation, options, replica state, batching, reply mapping."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from configs import ServeConfig
from core.clock import LiveClock
from core.errors import ConfigError, PermanentError, TemporaryError
from serving.batching import Coalescer
from serving.client import scores_from
from serving.config import ServingConfig
from serving.endpoint import ScoringEndpoint
from serving.fastparse import fast_matrix
from serving.http_api import build_api
from serving.ingress import score_router
from serving.options import ServingOptions, is_loopback, token_digest
from serving.service import Reply, ServingState, authorize, next_state, readiness, resolve
from serving.validation import RowsInvalid, parse_body, rows_matrix
from training.registry import ModelRegistry

FEATURES = ("a", "b", "c")
FSET = frozenset(FEATURES)


def _matrix(rows: object, max_rows: int = 100) -> np.ndarray:
    return rows_matrix(rows, FEATURES, FSET, max_rows)


def _field(rows: object) -> str:
    with pytest.raises(RowsInvalid) as err:
        _matrix(rows)
    return err.value.field


def test_rows_become_a_matrix_in_model_order() -> None:
    m = _matrix([{"c": 3.0, "a": 1, "b": -2.5}, {"a": 0, "b": 0, "c": 1e300}])
    assert m.dtype == np.float64
    assert m.tolist() == [[1.0, -2.5, 3.0], [0.0, 0.0, 1e300]]


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ("nope", "rows"),
        ({"a": 1}, "rows"),
        ([], "rows"),
        ([{"a": 1, "b": 2, "c": 3}] * 101, "rows"),
        ([1.0], "rows[0]"),
        ([{"a": 1, "b": 2}], "rows[0].c"),
        ([{"a": 1, "b": 2, "c": 3, "d": 4}], "rows[0].d"),
        ([{"a": 1, "b": 2, "z": 3}], "rows[0].z"),
        ([{"a": 1, "b": 2, "c": 3, "x y": 4}], 'rows[0]."x y"'),
        ([{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": None, "c": 3}], "rows[1].b"),
        ([{"a": True, "b": 2, "c": 3}], "rows[0].a"),
        ([{"a": "1", "b": 2, "c": 3}], "rows[0].a"),
        ([{"a": 1, "b": [2], "c": 3}], "rows[0].b"),
        ([{"a": 1, "b": 2, "c": math.nan}], "rows[0].c"),
        ([{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": -math.inf, "c": 3}], "rows[1].b"),
        ([{"a": 1, "b": 2, "c": 10**400}], "rows[0].c"),
    ],
)
def test_invalid_rows_name_the_field(rows: object, field: str) -> None:
    assert _field(rows) == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"{", "body"),
        (b"\xff", "body"),
        (b"[1, 2]", "body"),
        (b'{"rows": [], "x": 1}', "x"),
        (b'{"row": []}', "row"),
        (b'{"": []}', '""'),
        (b"{}", "rows"),
        (b"[" * 100_000, "body"),
    ],
)
def test_invalid_bodies_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(RowsInvalid) as err:
        parse_body(body, max_bytes=1_000_000)
    assert err.value.field == field


def test_body_size_is_limited() -> None:
    with pytest.raises(RowsInvalid, match="larger than"):
        parse_body(b'{"rows": []}' + b" " * 2000, max_bytes=1024)


_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
_value = st.recursive(
    _leaf, lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=3), v, max_size=3)
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _value, max_size=4), max_size=4)
    | _value
)
def test_any_input_is_a_finite_matrix_or_a_named_refusal(rows: object) -> None:
    try:
        m = _matrix(rows)
    except RowsInvalid as exc:
        assert exc.field.startswith("rows")
    else:
        assert m.shape == (len(rows), 3)  # type: ignore[arg-type]
        assert np.isfinite(m).all()


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=64) | _value.map(lambda v: json.dumps(v).encode()))
def test_any_body_parses_or_is_refused_by_name(raw: bytes) -> None:
    try:
        parse_body(raw, max_bytes=1024)
    except RowsInvalid as exc:
        assert exc.field and not exc.field.endswith(".")


def test_loopback_and_token_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.com")
    ServingOptions().check_bind()
    with pytest.raises(ConfigError, match=r"serve\.host"):
        ServingOptions(host="0.0.0.0").check_bind()
    with pytest.raises(ConfigError):
        ServingOptions(host="::", token=SecretStr("")).check_bind()
    options = ServingOptions(host="0.0.0.0", token=SecretStr("t0k"))
    options.check_bind()
    assert options.token_sha256() == token_digest("t0k")
    assert "t0k" not in repr(options)
    with pytest.raises(ConfigError, match="max_ongoing_requests"):
        ServingOptions(max_ongoing_requests=0)


def test_options_from_serve_config() -> None:
    config = ServeConfig(host="0.0.0.0", port=8123, token=SecretStr("x"))
    options = ServingOptions.from_settings(config, num_replicas=2)
    assert (options.host, options.port, options.num_replicas) == ("0.0.0.0", 8123, 2)
    assert options.token is not None and options.token.get_secret_value() == "x"


def test_user_config_round_trips_without_the_token(tmp_path: Path) -> None:
    options = ServingOptions(token=SecretStr("secret-token"))
    config = ServingConfig.build(tmp_path, ["a", "b", "a"], options, {"a": "v0002"})
    raw = config.to_user_config()
    assert "secret-token" not in json.dumps(raw)
    assert raw["versions"] == {"a": "v0002", "b": None}
    assert ServingConfig.from_user_config(json.loads(json.dumps(raw))) == config
    with pytest.raises(ConfigError, match="bogus"):
        ServingConfig.from_user_config({**raw, "bogus": 1})


def _registry(tmp_path: Path) -> tuple[ModelRegistry, lgb.Booster]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4},
        lgb.Dataset(x, (x[:, 0] > 0).astype(int), feature_name=list(FEATURES)),
        num_boost_round=5,
    )
    registry = ModelRegistry(tmp_path, LiveClock())
    window = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    for artifact in (booster.model_to_string().encode(), b"not a model"):
        registry.register(
            "s", artifact, metrics={}, features=list(FEATURES), feature_hash="h",
            data_window=window, params={}, code_version="t",
        )  # fmt: skip
    return registry, booster


def test_replica_state_swaps_and_keeps_the_old_model_on_a_bad_version(tmp_path: Path) -> None:
    _, booster = _registry(tmp_path)
    base = ServingConfig.build(tmp_path, ["s", "t"], ServingOptions(), {})
    state = next_state(ServingState.empty(), base)
    assert readiness(state).status == 200
    for strategy, status in (("s", 503), ("zzz", 404)):
        reply = resolve(state, strategy)
        assert isinstance(reply, Reply) and reply.status == status

    v1 = next_state(state, base.with_versions({"s": "v0001"}))
    model = v1.models["s"]
    x = np.array([[0.5, 0.1, -0.2]])
    assert model.predict(x).tolist() == pytest.approx(np.asarray(booster.predict(x)).tolist())
    assert readiness(v1).status == 200

    broken = next_state(v1, base.with_versions({"s": "v0002"}))
    assert broken.models["s"] is model, "the old model keeps serving"
    assert readiness(broken).status == 503
    assert "v0002" in broken.load_errors["s"]
    assert next_state(broken, base.with_versions({"s": "v0001"})).models["s"] is model


def test_authorize_checks_the_bearer_token() -> None:
    config = ServingConfig.build("/x", ["s"], ServingOptions(token=SecretStr("abc")), {})
    state = ServingState(config)
    assert authorize(state, "Bearer abc") is None
    assert authorize(state, "bearer abc") is None
    for header in (None, "", "Bearer abd", "Basic abc", "abc"):
        denied = authorize(state, header)
        assert denied is not None and denied.status == 401
    assert authorize(ServingState.empty(), None) is None


class _Model:
    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.calls: list[int] = []

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        self.calls.append(len(matrix))
        return np.asarray(matrix[:, 0] + self.offset, dtype=np.float64)


def test_coalescer_scores_concurrent_requests_in_one_call_per_model() -> None:
    async def run() -> None:
        co = Coalescer(max_rows=1000, wait_s=0.05)
        m1, m2 = _Model(0.0), _Model(100.0)

        async def request(model: _Model, value: float, rows: int) -> Any:
            co.enter()
            await asyncio.sleep(0)  # e.g. reading the body
            return (await co.score(model, np.full((rows, 1), value))).tolist()

        results = await asyncio.gather(request(m1, 1, 1), request(m1, 2, 2), request(m2, 3, 1))
        assert list(results) == [[1.0], [2.0, 2.0], [103.0]]
        assert m1.calls == [3] and m2.calls == [1]
        # A lone request does not wait for the timer.
        co.wait_s = 10.0
        assert await asyncio.wait_for(request(m1, 5, 1), timeout=1) == [5.0]
        # A request that leaves (invalid input) does not hold the batch back.
        co.enter()
        co.enter()
        pending = asyncio.ensure_future(co.score(m1, np.ones((1, 1))))
        await asyncio.sleep(0.01)
        assert not pending.done(), "waits for the other entered request"
        co.leave()
        assert (await asyncio.wait_for(pending, timeout=1)).tolist() == [1.0]

    asyncio.run(run())


def test_coalescer_passes_prediction_errors_to_every_request_of_the_batch() -> None:
    class Broken:
        def predict(self, matrix: np.ndarray) -> np.ndarray:
            raise ValueError("boom")

    async def run() -> None:
        co = Coalescer()
        co.enter()
        with pytest.raises(ValueError, match="boom"):
            await co.score(Broken(), np.ones((1, 1)))

    asyncio.run(run())


def test_replies_map_onto_the_core_errors() -> None:
    ok = scores_from(200, {"strategy": "s", "model_version": "v0001", "features": ["a"], "scores": [0.5]})
    assert ok.scores == (0.5,) and ok.model_version == "v0001"
    for status in (503, 500, 429, 408):
        with pytest.raises(TemporaryError):
            scores_from(status, {"message": "x"})
    for status in (401, 404, 422):
        with pytest.raises(PermanentError):
            scores_from(status, {"message": "x"})
    with pytest.raises(TemporaryError):
        scores_from(200, {"strategy": "s"})


def _strict(body: bytes, max_rows: int = 100) -> np.ndarray | None:
    try:
        return _matrix(parse_body(body, 1 << 20), max_rows)
    except RowsInvalid:
        return None


@pytest.mark.parametrize(
    "body",
    [
        b'[{"rows": [{"a": 1, "b": 2, "c": 3}]}]',  # a list of records: polars reads it, json refuses
        b'{"rows": [{"a": 1.5, "b": 2, "c": 3, "a": 7.0}]}',  # duplicate key: json keeps the last
        b'{"rows": [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3, "d": 4}]}',
        b'{"rows": [{"a": true, "b": 2, "c": 3}]}',
        b'{"rows": [{"a": null, "b": 2, "c": 3}]}',
        b'{"rows": [{"a": 1, "b": 2, "c": 3}, {"a": false, "b": 2, "c": 3}]}',
        b'{"rows": [{"a": "1", "b": 2, "c": 3}]}',
        b'{"rows": [{"a": NaN, "b": 2, "c": 3}]}',
        b'{"rows": [{"a": 1e999, "b": 2, "c": 3}]}',
        b'{"rows": [{"a": [1], "b": 2, "c": 3}]}',
        b'{"rows": [{"a": 1, "b": 2, "c": 3}], "x": 1}',
        b'{"rows": [{"a": 1, "b": 2, "c": 3}]} {}',
        b'{"rows": []}',
        b'{"rows": {"a": 1, "b": 2, "c": 3}}',
    ],
)
def test_the_fast_path_leaves_every_doubtful_body_to_the_strict_one(body: bytes) -> None:
    assert fast_matrix(body, FEATURES, FSET, 100) is None


_num = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
_fast_row = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _num | _leaf, min_size=2, max_size=4)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_fast_row | st.fixed_dictionaries({f: _num for f in FEATURES}), max_size=6))
def test_the_fast_path_accepts_only_what_the_strict_path_accepts_with_the_same_matrix(
    rows: list[dict[str, Any]],
) -> None:
    body = json.dumps({"rows": rows}).encode()
    fast = fast_matrix(body, FEATURES, FSET, 5)
    if fast is not None:
        strict = _strict(body, 5)
        assert strict is not None and np.array_equal(fast, strict)


def test_the_fast_path_reads_a_large_body(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = [dict(zip(FEATURES, r, strict=True)) for r in rng.normal(size=(500, 3)).tolist()]
    rows[7] = {"c": 1, "a": -2, "b": 2**60}  # any key order, integers
    body = json.dumps({"rows": rows}).encode()
    fast, strict = fast_matrix(body, FEATURES, FSET, 1000), _strict(body, 1000)
    assert fast is not None and strict is not None and np.array_equal(fast, strict)


def test_the_raw_route_and_the_fastapi_routes_share_the_error_contract(tmp_path: Path) -> None:
    _, booster = _registry(tmp_path)
    endpoint = ScoringEndpoint("r1")
    endpoint.apply(ServingConfig.build(tmp_path, ["s", "t"], ServingOptions(), {"s": "v0001"}))
    app = score_router(endpoint, build_api(endpoint))
    row = {"a": 0.5, "b": 0.1, "c": -0.2}
    big = {"rows": [row] * 2000}

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            ok = await http.post("/v1/score/s", json={"rows": [row]})
            assert ok.status_code == 200 and ok.json()["model_version"] == "v0001"
            expected = np.asarray(booster.predict(np.array([[0.5, 0.1, -0.2]]))).tolist()
            assert ok.json()["scores"] == pytest.approx(expected)
            large = await http.post("/v1/score/s", json=big)  # the polars fast path
            assert large.json()["scores"] == pytest.approx(expected * 2000)
            assert (await http.post("/v1/score/zzz", json={"rows": [row]})).status_code == 404
            assert (await http.post("/v1/score/t", json={"rows": [row]})).status_code == 503
            bad = await http.post("/v1/score/s", json={"rows": [{**row, "b": True}]})
            assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "rows[0].b"
            huge = await http.post("/v1/score/s", content=b"{}", headers={"content-length": str(1 << 30)})
            assert huge.status_code == 413
            assert (await http.get("/v1/score/s")).status_code == 405
            assert (await http.post("/v1/score/s/x", json={})).status_code == 404
            assert (await http.get("/healthz")).json() == {"status": "ok", "replica": "r1"}
            # KubeRay's probe path for routing traffic to a pod's serve port
            assert (await http.get("/-/healthz")).json() == {"status": "ok", "replica": "r1"}
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.delete("/v1/models")).status_code == 405

    asyncio.run(run())
