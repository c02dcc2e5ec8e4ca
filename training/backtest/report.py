"""The backtest report: a PNG of equity and drawdown, an HTML summary and the trades as CSV."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt

from training.backtest.result import BacktestResult


@dataclass(frozen=True, slots=True)
class ReportPaths:
    png: Path
    html: Path
    trades_csv: Path


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %" if math.isfinite(x) else "n/a"


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else ("inf" if x > 0 else "n/a")


def metrics_rows(result: BacktestResult) -> list[tuple[str, str]]:
    """(label, formatted value) pairs: the table the CLI prints and the HTML report shows."""
    m = result.metrics
    return [
        ("Start", m.start.isoformat()),
        ("End", m.end.isoformat()),
        ("Bankroll", f"{result.bankroll:,.2f}"),
        ("Final equity", f"{result.final_equity:,.2f}"),
        ("Total return", _pct(m.total_return)),
        ("CAGR", _pct(m.cagr)),
        ("Sharpe", _num(m.sharpe)),
        ("Sortino", _num(m.sortino)),
        ("Max drawdown", f"{m.max_drawdown_pct:.2f} %"),
        ("Win rate", _pct(m.win_rate)),
        ("Profit factor", _num(m.profit_factor)),
        ("Trades", str(m.n_trades)),
        ("Open at end", str(result.open_trades.height)),
        ("Exposure", _pct(m.exposure)),
        ("Turnover (per year)", _num(m.turnover)),
    ]


def plot_equity(result: BacktestResult, path: Path) -> Path:
    """Equity (top) and drawdown (bottom) against time, as a PNG."""
    curve = result.equity
    ts = curve["ts"].dt.replace_time_zone(None).to_numpy()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}, constrained_layout=True
    )
    try:
        top.plot(ts, curve["equity"].to_numpy(), linewidth=1.0, color="tab:blue")
        top.set_ylabel("equity")
        top.set_title(f"{result.strategy or 'backtest'}: equity and drawdown")
        top.grid(alpha=0.3)
        dd = -curve["drawdown"].to_numpy() * 100
        bottom.fill_between(ts, dd, 0.0, color="tab:red", alpha=0.4, linewidth=0)
        bottom.set_ylabel("drawdown %")
        bottom.grid(alpha=0.3)
        # No software/date metadata: the same result gives the same bytes.
        fig.savefig(path, dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def render_html(result: BacktestResult, png: bytes) -> str:
    """A self-contained HTML page: the metrics table, the chart inlined, the last trades."""
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in metrics_rows(result)
    )
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(result.skipped.items())) or "none"
    trades = result.trades.tail(50)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in trades.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in trades.iter_rows()
    )
    image = base64.b64encode(png).decode("ascii")
    title = html.escape(f"Backtest: {result.strategy or 'strategy'}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#f4f4f4}}</style>
</head><body>
<h1>{title}</h1>
<table>{rows}</table>
<p>Entries skipped: {html.escape(skipped)}</p>
<img alt="equity and drawdown" src="data:image/png;base64,{image}">
<h2>Last {trades.height} of {result.trades.height} trades</h2>
<table><tr>{head}</tr>
{body}
</table>
</body></html>
"""


def write_report(result: BacktestResult, report_dir: Path) -> ReportPaths:
    """Write ``equity.png``, ``report.html`` and ``trades.csv`` into ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    png = plot_equity(result, report_dir / "equity.png")
    page = report_dir / "report.html"
    page.write_text(render_html(result, png.read_bytes()), encoding="utf-8")
    csv = report_dir / "trades.csv"
    result.trades.write_csv(csv)
    return ReportPaths(png=png, html=page, trades_csv=csv)
