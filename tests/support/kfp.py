"""The example Kubeflow pipeline's modules (``deploy/kfp/``), loaded from their files: they are deployment material,
not a package."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .data import REPO

KFP = REPO / "deploy" / "kfp"


def kfp_module(name: str) -> ModuleType:
    """``deploy/kfp/<name>.py`` (``components`` or ``pipeline``)."""
    spec = importlib.util.spec_from_file_location(f"driftline_kfp_{name}", KFP / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
