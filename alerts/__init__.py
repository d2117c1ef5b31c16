"""Prometheus rules, promtool tests, Alertmanager routing and the retraining webhook (docs/alerts.md)."""
