"""The HTTP layer both driftline services run on — the exporter and the retraining webhook: an ASGI application with
a routing table and bounded bodies (:mod:`.asgi`), the connection limits uvicorn lacks (:mod:`.protocol`), and the
prometheus-client glue (:mod:`.exposition`). It imports only :mod:`drift`, so neither service imports the other."""
