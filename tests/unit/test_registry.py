"""Model registry: lineage, promotion and rollback, atomic visibility, concurrent writers."""

import json
import multiprocessing as mp
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import SimClock
from core.errors import DataError, InvalidValue
from training.registry import ModelNotFound, ModelRegistry, ModelVersion, RegistryError

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
WINDOW = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2025, 5, 30, tzinfo=UTC))


def _register(
    reg: ModelRegistry, strategy: str = "mean_rev", payload: bytes = b"model", **extra
) -> ModelVersion:
    return reg.register(
        strategy,
        payload,
        metrics=extra.pop("metrics", {"sharpe": 1.4, "n_trades": 120}),
        features=["zscore", "rsi"],
        feature_hash="f" * 16,
        data_window=WINDOW,
        params={"num_leaves": 31},
        code_version="0.1.0+g1234abc",
        **extra,
    )


@pytest.fixture
def clock() -> SimClock:
    return SimClock(T0)


@pytest.fixture
def reg(tmp_path: Path, clock: SimClock) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", clock)


def test_register_records_full_lineage(reg: ModelRegistry, tmp_path: Path) -> None:
    m = _register(reg, gate_report={"passed": True, "gates": []})
    assert m.version == "v0001" and m.number == 1
    assert m.artifact_path == reg.root / "mean_rev" / "v0001" / "model.bin"
    assert m.created_at == T0 and m.promoted_at is None
    assert reg.get("mean_rev", "v0001") == m
    assert reg.load_artifact(m) == b"model"
    meta = json.loads((reg.root / "mean_rev" / "v0001" / "metadata.json").read_text())
    assert meta["features"] == ["zscore", "rsi"]
    assert meta["data_window"] == [w.isoformat() for w in WINDOW]
    assert meta["code_version"] == "0.1.0+g1234abc"
    assert meta["params"] == {"num_leaves": 31}
    assert meta["gate_report"] == {"passed": True, "gates": []}

    src = tmp_path / "booster.txt"
    src.write_bytes(b"lightgbm model text")
    m2 = _register(reg, payload=src)  # type: ignore[arg-type]
    assert m2.version == "v0002"
    assert m2.artifact_path.name == "booster.txt"
    assert reg.load_artifact(m2) == b"lightgbm model text"
    assert [v.version for v in reg.list("mean_rev")] == ["v0001", "v0002"]
    assert reg.latest("mean_rev") == m2
    assert not any((reg.root / ".tmp").iterdir())


def test_versions_are_per_strategy_and_listed_in_order(reg: ModelRegistry) -> None:
    for _ in range(3):
        _register(reg, "alpha")
    _register(reg, "beta")
    assert [(m.strategy, m.version) for m in reg.list()] == [
        ("alpha", "v0001"),
        ("alpha", "v0002"),
        ("alpha", "v0003"),
        ("beta", "v0001"),
    ]
    assert reg.strategies() == ["alpha", "beta"]
    assert reg.list("gamma") == []
    assert reg.latest("gamma") is None


def test_versions_stay_monotonic_when_the_index_lags(reg: ModelRegistry) -> None:
    _register(reg)
    _register(reg)
    (reg.root / "index.json").unlink()  # as if a crash hit between publish and index update
    assert _register(reg).version == "v0003"


def test_promote_and_rollback(reg: ModelRegistry, clock: SimClock) -> None:
    v1, v2, v3 = (_register(reg) for _ in range(3))
    assert reg.promoted("mean_rev") is None

    clock.advance(timedelta(hours=1))
    p1 = reg.promote("mean_rev", v1.version)
    assert p1.promoted_at == T0 + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    reg.promote("mean_rev", v2.version)
    clock.advance(timedelta(hours=1))
    reg.promote("mean_rev", v3.version)
    assert reg.promoted("mean_rev").version == "v0003"  # type: ignore[union-attr]
    # promoted_at marks the current version only.
    assert [m.promoted_at is not None for m in reg.list("mean_rev")] == [False, False, True]

    clock.advance(timedelta(hours=1))
    back = reg.rollback("mean_rev")
    assert back.version == "v0002"
    assert back.promoted_at == T0 + timedelta(hours=4)
    assert reg.promoted("mean_rev") == back
    assert reg.get("mean_rev", "v0002") == back
    assert reg.rollback("mean_rev").version == "v0001"

    with pytest.raises(RegistryError, match="only v0001 has been promoted"):
        reg.rollback("mean_rev")
    assert [(e.action, e.version, e.previous) for e in reg.history("mean_rev")] == [
        ("promote", "v0001", None),
        ("promote", "v0002", "v0001"),
        ("promote", "v0003", "v0002"),
        ("rollback", "v0002", "v0003"),
        ("rollback", "v0001", "v0002"),
    ]


def test_rollback_after_a_new_promotion_returns_to_the_one_before(reg: ModelRegistry) -> None:
    v1, v2, v3 = (_register(reg) for _ in range(3))
    reg.promote("mean_rev", v1.version)
    reg.promote("mean_rev", v2.version)
    reg.rollback("mean_rev")
    reg.promote("mean_rev", v3.version)
    assert reg.rollback("mean_rev").version == "v0001"


def test_rollback_with_no_history_raises_a_clear_error(reg: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="cannot roll back mean_rev: nothing has been promoted"):
        reg.rollback("mean_rev")
    _register(reg)
    with pytest.raises(RegistryError, match="nothing has been promoted"):
        reg.rollback("mean_rev")


def test_promote_is_idempotent_and_checks_its_target(reg: ModelRegistry, clock: SimClock) -> None:
    v1 = _register(reg)
    first = reg.promote("mean_rev", v1.version)
    clock.advance(timedelta(minutes=5))
    assert reg.promote("mean_rev", v1.version) == first
    assert len(reg.history("mean_rev")) == 1
    with pytest.raises(ModelNotFound):
        reg.promote("mean_rev", "v0009")
    with pytest.raises(ModelNotFound):
        reg.get("other", "v0001")


def test_failed_gates_need_force(reg: ModelRegistry) -> None:
    m = _register(reg, gate_report={"passed": False, "gates": []})
    with pytest.raises(RegistryError, match="failed its promotion gates"):
        reg.promote("mean_rev", m.version)
    assert reg.promoted("mean_rev") is None
    assert reg.promote("mean_rev", m.version, force=True).promoted_at == T0


def test_bad_inputs_are_refused_and_leave_nothing_behind(reg: ModelRegistry) -> None:
    for name in ("../escape", "", ".hidden", "a/b"):
        with pytest.raises(InvalidValue):
            _register(reg, name)
    with pytest.raises(InvalidValue):
        reg.get("mean_rev", "1")
    with pytest.raises(InvalidValue, match="strict JSON"):
        _register(reg, metrics={"sharpe": float("nan")})
    with pytest.raises(InvalidValue):
        _register(reg, metrics={"when": datetime(2025, 1, 1, tzinfo=UTC)})
    with pytest.raises(InvalidValue):
        reg.register(
            "mean_rev",
            b"x",
            metrics={},
            features=[],
            feature_hash="",
            data_window=(WINDOW[1], WINDOW[0]),
            params={},
            code_version="x",
        )
    assert reg.list() == []
    assert not any((reg.root / ".tmp").iterdir())


def test_tampered_artifact_is_detected(reg: ModelRegistry) -> None:
    m = _register(reg)
    m.artifact_path.write_bytes(b"tampered")
    with pytest.raises(DataError):
        reg.load_artifact(m)


def test_corrupt_index_is_a_data_error(reg: ModelRegistry) -> None:
    (reg.root / "index.json").write_text("{not json")
    with pytest.raises(DataError):
        reg.promoted("mean_rev")


# -- multiple processes ---------------------------------------------------------------------------
def _payload(strategy: str, tag: str) -> bytes:
    return f"{strategy}:{tag}:".encode() * 4096


def _writer(root: str, strategy: str, count: int, worker: int, pause: float, out, barrier=None) -> None:
    reg = ModelRegistry(Path(root), SimClock(T0))
    if barrier is not None:
        barrier.wait(120)  # start together so the writers really contend
    made = []
    for i in range(count):
        tag = f"{worker}-{i}"
        m = _register(reg, strategy, _payload(strategy, tag), metrics={"tag": tag})
        reg.promote(strategy, m.version)
        made.append((m.version, tag))
        time.sleep(pause)
    out.put(made)


def _reader(root: str, strategy: str, stop, ready, out) -> None:
    reg = ModelRegistry(Path(root), SimClock(T0))
    errors: list[str] = []
    seen_counts: set[int] = set()
    rounds = 0
    ready.set()
    while not stop.is_set() or rounds == 0:
        rounds += 1
        try:
            index_path = Path(root) / "index.json"
            if index_path.exists():
                json.loads(index_path.read_bytes())
            models = reg.list(strategy)
            seen_counts.add(len(models))
            current = reg.promoted(strategy)
            for m in [*models, *([current] if current else [])]:
                if reg.load_artifact(m) != _payload(strategy, m.metrics["tag"]):
                    errors.append(f"wrong artifact for {m.version}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    out.put((errors, sorted(seen_counts), rounds))


def test_readers_never_see_a_partial_state(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    root = str(tmp_path / "models")
    ModelRegistry(Path(root), SimClock(T0))
    stop, ready, results, made = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(root, "alpha", stop, ready, results))
    reader.start()
    assert ready.wait(60)
    writer = ctx.Process(target=_writer, args=(root, "alpha", 25, 0, 0.005, made))
    writer.start()
    writer.join(120)
    assert writer.exitcode == 0
    versions = made.get(timeout=10)
    stop.set()
    errors, seen_counts, rounds = results.get(timeout=60)
    reader.join(60)
    assert writer.exitcode == 0 and reader.exitcode == 0
    assert errors == []
    assert len(versions) == 25
    # The reader really ran while the writer wrote: it saw intermediate counts.
    assert rounds > 1 and any(0 < c < 25 for c in seen_counts), (rounds, seen_counts)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    root = tmp_path / "models"
    out = ctx.Queue()
    count = 8
    strategies = ["alpha", "beta", "alpha", "beta", "alpha", "alpha"]
    barrier = ctx.Barrier(len(strategies))
    procs = [
        ctx.Process(target=_writer, args=(str(root), s, count, w, 0.0, out, barrier))
        for w, s in enumerate(strategies)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    made = [out.get(timeout=10) for _ in procs]

    reg = ModelRegistry(root, SimClock(T0))
    index = json.loads((root / "index.json").read_text())
    for strategy, writers in (("alpha", 4), ("beta", 2)):
        models = reg.list(strategy)
        n = writers * count
        assert [m.version for m in models] == [f"v{i:04d}" for i in range(1, n + 1)]
        entry = index["strategies"][strategy]
        assert entry["last_version"] == n
        assert len(entry["stack"]) == n == len(entry["history"])
        tags = {m.metrics["tag"] for m in models}
        assert len(tags) == n
        for m in models:
            assert reg.load_artifact(m) == _payload(strategy, m.metrics["tag"])
    reported = {t: v for batch in made for v, t in batch}
    on_disk = {m.metrics["tag"]: m.version for m in reg.list()}
    assert reported == on_disk
    assert not any((root / ".tmp").iterdir())
