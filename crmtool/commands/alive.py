"""`crmtool churn alive`: parse options, run ``churn.alive`` (BG/NBD, SPEC §4.12), render it."""


from typing import Annotated, Optional

import typer

from crmtool.commands.common import AllowFutureOpt, AsOfOpt, LimitOpt, OutputOpt, render_result, result_title, run_command

AliveWindowOpt = Annotated[Optional[int], typer.Option(
    "--window", min=1, max=240, help="Calibration window in months: customers with a purchase day in it are "
    "fitted and scored (default alive.window_months, 36).")]
AliveHorizonOpt = Annotated[Optional[int], typer.Option(
    "--horizon", min=1, max=36, help="Months after as-of for expected purchases (default alive.horizon_months, 3).")]


def alive_cmd(ctx: typer.Context, as_of: AsOfOpt = None, window: AliveWindowOpt = None,
              horizon: AliveHorizonOpt = None, output: OutputOpt = None, limit: LimitOpt = 20,
              allow_future: AllowFutureOpt = False) -> None:
    """Purchase probability 购买概率 (BG/NBD): the chance each customer is still buying (p_alive) and the
    purchase days expected over the horizon, from a model fitted on every purchase day up to as-of.

    Columns: customer_id, frequency (repeat purchase days), recency_weeks, age_weeks, p_alive,
    expected_purchases; the lowest p_alive first. The fitted r, alpha, a, b and log-likelihood are
    in the summary."""
    result = run_command(ctx, "churn.alive", as_of=as_of, allow_future=allow_future, window=window, horizon=horizon)
    render_result(ctx, result, output=output, limit=limit, title=result_title(ctx, result, f"purchase probability {result.period}"))
