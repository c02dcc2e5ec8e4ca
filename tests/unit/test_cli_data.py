"""``raydesk data``: generate, import and info through the Typer app."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adapters.store import BarStore
from cluster.cli import data_cmd

runner = CliRunner()


def test_generate_writes_minute_and_daily_bars(tmp_path: Path) -> None:
    args = [
        "generate",
        "--symbols",
        "AAA,BBB",
        "--start",
        "2025-11-26",
        "--end",
        "2025-11-28",
        "--seed",
        "3",
        "--data-dir",
        str(tmp_path),
    ]
    result = runner.invoke(data_cmd.app, args)
    assert result.exit_code == 0, result.output
    assert "2 symbols, 2 sessions" in result.output
    store = BarStore(tmp_path)
    assert store.symbols("1m") == ["AAA", "BBB"] and store.symbols("1d") == ["AAA", "BBB"]
    minute = store.read("1m")
    assert minute.height == 2 * (390 + 210)
    assert store.read("1d").height == 4
    again = runner.invoke(data_cmd.app, args)  # idempotent
    assert again.exit_code == 0 and store.read("1m").equals(minute)


def test_generate_count_and_no_edge(tmp_path: Path) -> None:
    base = ["generate", "--symbols", "2", "--start", "2025-06-02", "--end", "2025-06-02", "--data-dir"]
    assert runner.invoke(data_cmd.app, [*base, str(tmp_path / "on")]).exit_code == 0
    result = runner.invoke(data_cmd.app, [*base, str(tmp_path / "off"), "--no-edge"])
    assert result.exit_code == 0 and "without edges" in result.output
    on, off = BarStore(tmp_path / "on").read("1m"), BarStore(tmp_path / "off").read("1m")
    assert on["symbol"].unique().len() == 2
    assert on["volume"].equals(off["volume"]) and not on["close"].equals(off["close"])


def test_generate_rejects_reversed_dates(tmp_path: Path) -> None:
    result = runner.invoke(
        data_cmd.app,
        [
            "generate",
            "--symbols",
            "A",
            "--start",
            "2025-02-01",
            "--end",
            "2025-01-01",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2


def test_import_and_info(tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("Time,O,H,L,C,V\n2025-03-10 09:30:00,1,2,1,2,10\n2025-03-10 09:31:00,2,2,1,1,20\n")
    store_dir = tmp_path / "store"
    args = ["import", str(csv), "--symbol", "ACME", "--tz", "America/New_York", "--data-dir", str(store_dir)]
    for src, dst in (("O", "open"), ("H", "high"), ("L", "low"), ("C", "close"), ("V", "volume")):
        args += ["--map", f"{src}={dst}"]
    result = runner.invoke(data_cmd.app, args)
    assert result.exit_code == 0, result.output
    assert "imported 2 1m bars of ACME" in result.output
    assert BarStore(store_dir).read("1m")["ts"].dt.hour().to_list() == [13, 13]
    shown = runner.invoke(data_cmd.app, ["info", "--data-dir", str(store_dir)])
    assert shown.exit_code == 0
    assert "ACME" in shown.output and "1m" in shown.output and "2025-03-10 13:30" in shown.output


def test_import_failure_lists_lines_and_exits_1(tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text(
        "ts,open,high,low,close,volume\n2025-03-10T13:30:00Z,1,2,1,2,10\n2025-03-10T13:31:00Z,1,0.5,1,1,x\n"
    )
    result = runner.invoke(
        data_cmd.app, ["import", str(csv), "--symbol", "ACME", "--data-dir", str(tmp_path / "s")]
    )
    assert result.exit_code == 1
    assert "line 3" in result.output and "volume: not a number 'x'" in result.output
    assert BarStore(tmp_path / "s").read("1m").is_empty()


def test_import_bad_map_syntax(tmp_path: Path) -> None:
    result = runner.invoke(data_cmd.app, ["import", str(tmp_path / "x.csv"), "--map", "nonsense"])
    assert result.exit_code == 2


def test_info_on_an_empty_store(tmp_path: Path) -> None:
    result = runner.invoke(data_cmd.app, ["info", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "no bars" in result.output


def test_default_data_dir_comes_from_settings(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAYDESK_DATA__DATA_DIR", str(tmp_path / "configured"))
    assert data_cmd.default_data_dir() == tmp_path / "configured"
