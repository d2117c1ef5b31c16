"""Local files from outside: only regular files are opened for reading (a FIFO given as a data file would block its
reader until something writes to it, a device may never end), and a whole read is bounded in bytes."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from .limits import NOT_A_FILE, TOO_LARGE, InputError, size_text


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for binary reading, refused (InputError ``not_a_file``) unless it is a regular file. The open
    itself does not block: a FIFO is opened non-blocking, found out by ``fstat`` and closed. OSError (missing,
    denied) propagates for the caller to word."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
            raise InputError(NOT_A_FILE, f"{os.fspath(path)} is {kind}; give a file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The whole of a regular file of at most ``max_bytes`` (InputError ``too_large`` beyond, read no further)."""
    with open_regular(path) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(TOO_LARGE, f"{os.fspath(path)} is larger than {size_text(max_bytes)}")
    return data
