"""Fuzzing every entry point of outside bytes: the targets (:mod:`.targets`), their seed corpus (``corpus/``, written
by :mod:`.seeds` from the repository's fixtures) and the runner (``python -m tests.fuzz``)."""
