"""Churn: status, early warning, idle monitoring, win-back, backtest."""
