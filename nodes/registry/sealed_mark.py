"""The sealer's high-water mark: the newest checkpoint it signed, kept outside the database.

A file in the node's home (``sealed.checkpoint``) holds the bytes of the largest checkpoint
the sealer has committed. The checkpoint is signed by the node key, so the file cannot be
raised without the key; it only ever grows. Someone who can write to the database but not
to the home cannot make the node forget what it sealed: the sealer refuses to sign again
from below the mark, and ``armsledger verify`` checks the log against it. Someone who can
do both is caught by the partners' cosignatures (``verify --witnesses``). docs/verification.md
("What was sealed") tells the whole argument.
"""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ledger.checkpoint import Checkpoint, signing_key, verify_checkpoint
from ledger.errors import CheckpointError
from nodes.registry.home_file import read_mark, replace_mark

MARK_FILE = "sealed.checkpoint"


class SealedMark:
    """The mark file of a node whose home is ``home``; checkpoints are checked against ``node_keys`` (raw,
    oldest first: the mark may still be signed by the node key before a ``key rotate --node``)."""

    def __init__(self, home: Path, node_keys: Sequence[bytes], origin: str):
        self.path = Path(home) / MARK_FILE
        self.node_keys = tuple(node_keys)
        self.origin = origin
        # The bytes this process last wrote or verified, with their checkpoint: a file that still holds
        # exactly them needs no new signature check (the sealer reads the mark before every seal).
        self._known: tuple[bytes, Checkpoint] | None = None
        self._writing: Future[None] | None = None  # the mark ``advance_later`` is writing
        self._writer: ThreadPoolExecutor | None = None  # its one thread, started at the first use

    def read(self) -> Checkpoint | None:
        """The newest checkpoint sealed, or None when no mark was ever written.

        Raises ``CheckpointError`` when the file is not a checkpoint of this node signed by its key.
        """
        data = read_mark(self.path, "the sealer's mark")
        if data is None:
            return None
        known = self._known
        if known is not None and known[0] == data:
            return known[1]
        try:
            checkpoint = Checkpoint.from_bytes(data)
            verify_checkpoint(checkpoint, signing_key(checkpoint, self.node_keys))
        except CheckpointError as e:
            raise CheckpointError(f"the sealer's mark {self.path} is not a checkpoint signed by this node: {e}") from e
        if checkpoint.origin != self.origin:
            raise CheckpointError(f"the sealer's mark {self.path} is a checkpoint of {checkpoint.origin!r}, "
                                  f"not of {self.origin!r}")
        self._known = (data, checkpoint)
        return checkpoint

    def advance(self, checkpoint: Checkpoint) -> None:
        """Make ``checkpoint`` the mark unless the mark is that large already (it never goes back).

        Several processes of one node may seal: a lock file orders them, and the file is
        replaced atomically, so a crash leaves the old mark or the new one. The mark read under the
        lock is verified again only when its bytes are not the ones this process last wrote or verified.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = self.read()
            except CheckpointError:
                current = None  # the sealer refused to seal over a damaged mark: this one was checked
            if current is not None and current.size >= checkpoint.size:
                return
            data = checkpoint.to_bytes()
            replace_mark(self.path, data)
            self._known = (data, checkpoint)

    def advance_later(self, checkpoint: Checkpoint) -> None:
        """``advance`` in a thread of its own, after waiting for the one before (``wait`` raises its error).

        The mark's fsync then costs the caller nothing (the relay publishes meanwhile). The thread is
        started once and kept (starting one per seal costs as much as the fsync on a busy machine);
        the process ends only once the mark is written.
        """
        self.wait()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealed-mark")
        self._writing = self._writer.submit(self.advance, checkpoint)

    def wait(self) -> None:
        """Wait for the mark ``advance_later`` is writing; raise what writing it raised (once)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()
