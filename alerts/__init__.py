"""Prometheus rules, promtool tests, Alertmanager routing and the retraining webhook (see their issues)."""
