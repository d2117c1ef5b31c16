"""Model files: the models of many teams, one file each, in one folder (``model_files.dir``).

A platform keeps its global settings in the main config and lets each team declare its own models in a file of its
own — a ConfigMap per team, projected into one folder. A model file is a YAML document with one key, ``models:``,
whose entries are exactly those of the main config's ``models:``. Relative paths in it resolve against its own
folder.

A file is taken whole or refused whole: a problem in it, or a model another file (or the main config) already
defines, refuses that file's models and no others. :func:`scan` reads the folder; the exporter polls it and applies a
change while it runs (:mod:`exporters.fleet`); :func:`~.loader.load_config` reads it once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..boundary import InputError, Limits, load_yaml, read_regular
from .models import read_model
from .reader import Section
from .schema import ModelConfig

# A team's file with a few hundred models is a few hundred KB.
FILE_LIMITS = Limits(max_bytes=4 * 1024 * 1024, max_depth=64, max_nodes=200_000)
MAX_FILES = 10_000  # a folder with more is a mistake, not a fleet
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ModelFile:
    """One team file as read: its models, or why it is refused (then ``models`` is empty)."""

    path: str
    digest: str  # of its bytes: what the exporter compares between polls
    models: tuple[ModelConfig, ...]
    problems: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def model_file_paths(directory: str | os.PathLike[str]) -> list[Path]:
    """The model files of a folder: ``*.yaml`` and ``*.yml``, by name; hidden entries (a projected ConfigMap's
    ``..data``) are not files of their own."""
    folder = Path(directory)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    paths = [folder / e.name for e in entries if not e.name.startswith(".") and e.name.endswith(SUFFIXES)]
    return paths[:MAX_FILES]


def read_model_file(path: str | os.PathLike[str]) -> ModelFile:
    """Read one team file; a problem refuses the file (``problems``), it never raises."""
    source = str(path)
    try:
        data = read_regular(path, FILE_LIMITS.max_bytes)
    except FileNotFoundError:
        return ModelFile(source, "", (), ("the file is gone",))
    except (InputError, OSError) as exc:
        return ModelFile(source, "", (), (f"cannot read the file: {exc}",))
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = load_yaml(data.decode("utf-8"), FILE_LIMITS)
    except UnicodeDecodeError:
        return ModelFile(source, digest, (), ("not UTF-8 text",))
    except InputError as exc:
        return ModelFile(source, digest, (), (f"invalid YAML: {exc}",))
    problems: list[str] = []
    root = Section(document, "", problems)
    listed = root.items("models", if_empty="must list at least one model")
    base = Path(path).resolve().parent
    models = tuple(replace(read_model(Section(item, key, problems), base), defined_in=source) for key, item in listed)
    root.finish()
    problems += duplicates(models)
    return ModelFile(source, digest, () if problems else models, tuple(problems))


def scan(directory: str | os.PathLike[str]) -> list[ModelFile]:
    return [read_model_file(path) for path in model_file_paths(directory)]


def duplicates(models: Sequence[ModelConfig], taken: Iterable[ModelConfig] = ()) -> list[str]:
    """A problem for each model whose (name, namespace) another one — earlier in ``models`` or in ``taken`` — has."""
    seen = {(m.name, m.namespace): f"in {m.defined_in or 'the main config'}" for m in taken}
    problems = []
    for i, model in enumerate(models):
        key = (model.name, model.namespace)
        if model.name and key in seen:  # no name: a broken entry, already a problem of its own
            where = f"{model.name!r} in namespace {model.namespace!r}"
            problems.append(f"models[{i}].name: {where} is already {seen[key]}")
        else:
            seen.setdefault(key, f"models[{i}]")
    return problems


def combine(inline: Sequence[ModelConfig], files: Sequence[ModelFile]) -> tuple[list[ModelConfig], list[ModelFile]]:
    """The models to monitor — the main config's, then each file's in name order — and the files refused: with a
    problem of their own, or naming a model an earlier file or the main config defines."""
    models = list(inline)
    refused = []
    for file in files:
        clash = duplicates(file.models, models) if not file.refused else []
        if file.refused or clash:
            refused.append(file if file.refused else replace(file, models=(), problems=tuple(clash)))
            continue
        models.extend(file.models)
    return models, refused
