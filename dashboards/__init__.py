"""Grafana dashboards generated from the monitor config with grafanalib (see the generation issue)."""
