"""A small signed file kept in the node's home (the sealer's mark, the verified mark): read it, replace it whole."""

from __future__ import annotations

import os
from pathlib import Path

from ledger.errors import CheckpointError


def read_mark(path: Path, what: str) -> bytes | None:
    """The bytes of ``path``, or None when there is no such file; ``CheckpointError`` naming ``what`` when it
    cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckpointError(f"{what} {path} cannot be read: {e}") from e


def replace_mark(path: Path, data: bytes) -> None:
    """Make ``data`` the content of ``path`` atomically: a crash leaves the old content or the new one."""
    scratch = path.with_suffix(".new")
    with open(scratch, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
