"""Account-manager analyses (SPEC §4.9): the manager scorecard 客户经理评价."""

from crmtool.managers.scorecard import COLUMNS, manager_scorecard

__all__ = ["COLUMNS", "manager_scorecard"]
