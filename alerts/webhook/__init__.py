"""The retraining webhook: Alertmanager notifications in, one GitHub ``repository_dispatch`` per incident out,
through a durable SQLite outbox (``driftline webhook``)."""
