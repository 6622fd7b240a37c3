"""Sales analyses (SPEC §4.10): overview, pivot, attainment, campaign, freight.

Each module holds one analysis as SQL over the fact views; :mod:`crmtool.sales.analyses` registers
them with the runner (``sales.overview`` …) and :mod:`crmtool.sales.periods` holds the calendar
periods the manager scorecard shares."""
