"""`crmtool churn …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Churn: status, early warning, idle monitoring, win-back, backtest.")
