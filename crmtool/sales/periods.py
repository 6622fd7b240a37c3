"""Calendar periods (a month, a quarter, a year) and date ranges for the manager and sales analyses.

SPEC §4.9: P_ly is P shifted back 12 months, P_prev the period of the same kind just before P, YTD
runs from 1 January of P's end year to P's end, and "a year earlier" caps at month end
(2024-02-29 → 2023-02-28)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from crmtool.errors import UsageError
from crmtool.facts import Period, add_months, month_end, parse_date, parse_quarter, parse_year

KINDS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class CalendarPeriod:
    """``first``: the first day; ``last_month``: the first day of the period's last month."""

    kind: str
    first: dt.date
    last_month: dt.date

    @property
    def end(self) -> dt.date:
        return month_end(self.last_month)

    @property
    def months(self) -> int:
        return (self.last_month.year - self.first.year) * 12 + self.last_month.month - self.first.month + 1

    @property
    def label(self) -> str:
        if self.kind == "year":
            return str(self.first.year)
        if self.kind == "quarter":
            return f"{self.first.year}Q{(self.first.month - 1) // 3 + 1}"
        return self.first.strftime("%Y-%m")

    def shifted(self, months: int) -> "CalendarPeriod":
        return CalendarPeriod(self.kind, add_months(self.first, months), add_months(self.last_month, months))

    @property
    def last_year(self) -> "CalendarPeriod":
        """P_ly: P shifted back 12 months."""
        return self.shifted(-12)

    @property
    def previous(self) -> "CalendarPeriod":
        """P_prev: the period of the same kind just before P (Q1 → the previous Q4)."""
        return self.shifted(-KINDS[self.kind])

    @property
    def ytd(self) -> tuple[dt.date, dt.date]:
        """1 January of P's end year through P's end."""
        return dt.date(self.end.year, 1, 1), self.end

    @property
    def ytd_last_year(self) -> tuple[dt.date, dt.date]:
        """The same days a year earlier (the end capped at month end: 2024-02-29 → 2023-02-28)."""
        return dt.date(self.end.year - 1, 1, 1), year_earlier(self.end)


def year_earlier(d: dt.date) -> dt.date:
    """The same day a year earlier, capped at month end (2024-02-29 → 2023-02-28)."""
    return add_months(d, -12)


def calendar_period(period: Period, *, quarter: str | None = None, year: str | int | None = None,
                    monthly: bool = False, default: str = "quarter") -> CalendarPeriod:
    """The period an option set names: ``--quarter``, ``--year``, or (``monthly``) the judged month;
    without any, the ``default`` kind (quarter or month) that holds the judged month (SPEC §3)."""
    given = [name for name, v in (("--quarter", quarter), ("--year", year), ("--month", monthly)) if v]
    if len(given) > 1:
        raise UsageError(f"give one of --month, --quarter or --year, not {' and '.join(given)}")
    if quarter:
        first, last = parse_quarter(str(quarter))
        return CalendarPeriod("quarter", first, last)
    if year:
        first, last = parse_year(str(year))
        return CalendarPeriod("year", first, last)
    m = period.month
    if monthly or default == "month":
        return CalendarPeriod("month", m, m)
    if default == "year":
        return CalendarPeriod("year", dt.date(m.year, 1, 1), dt.date(m.year, 12, 1))
    first = dt.date(m.year, 3 * ((m.month - 1) // 3) + 1, 1)
    return CalendarPeriod("quarter", first, add_months(first, 2))


def parse_bound(text: str | dt.date | None, what: str, *, end: bool) -> dt.date | None:
    """``--from`` / ``--to``: a date (YYYY-MM-DD), or a month (YYYY-MM) meaning its first day
    (``--from``) or its last day (``--to``)."""
    if text is None or isinstance(text, dt.date):
        return text
    m = re.fullmatch(r"\s*(\d{4})[-/.](\d{1,2})\s*", text)
    if m:
        if not 1 <= int(m.group(2)) <= 12:
            raise UsageError(f"{what}: {text!r} is not a month (YYYY-MM) or a date (YYYY-MM-DD)")
        first = dt.date(int(m.group(1)), int(m.group(2)), 1)
        return month_end(first) if end else first
    return parse_date(text, what)


def date_range(period: Period, first: str | dt.date | None, last: str | dt.date | None,
               months: int = 12) -> tuple[dt.date, dt.date]:
    """Inclusive ``--from``/``--to``; by default the ``months`` months ending at as-of (SPEC §3:
    ``as_of - N months < date <= as_of``); a lone ``--to`` ends that window there instead."""
    hi = parse_bound(last, "--to", end=True) or period.as_of
    lo = parse_bound(first, "--from", end=False) or (add_months(hi, -months) + dt.timedelta(days=1))
    if lo > hi:
        raise UsageError(f"--from {lo} is after --to {hi}")
    return lo, hi
