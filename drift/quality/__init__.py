"""Model quality from delayed ground truth.

* :mod:`.metrics` — classification and regression metrics and the error indicators of labelled predictions;
* :mod:`.adwin` — ADWIN's change test on the error stream (concept drift);
* :mod:`.evaluation` — :func:`evaluate_performance`: quality, its loss against the reference, the drop decision.
"""
