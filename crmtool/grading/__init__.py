"""Customer grading: RFM, Pareto/ABC, level suggestion, balanced scorecard, four-quadrant."""
