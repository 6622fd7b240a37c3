"""Grading results are the one :class:`crmtool.result.Result` every analysis returns."""

from crmtool.result import Result

GradeResult = Result

__all__ = ["GradeResult", "Result"]
