"""`crmtool grade …` and `crmtool classify …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Grade customers: RFM, Pareto/ABC, level suggestion, balanced scorecard.")
classify_app = typer.Typer(help="Classify customers: value × strategic-fit four-quadrant.")
