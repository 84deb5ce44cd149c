"""Pseudo-terminals for the tests of what the CLI draws on a terminal: stdout and stderr each on a pty.

``Terminals`` opens two ptys (so the bytes of stdout and of stderr can be told apart), gives
text streams on their slave sides (``isatty()`` is true) and collects every byte written, read
from the master sides by a thread so that a full pty buffer never blocks the command.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import threading
from typing import TextIO

COLUMNS = 160


class _Pty:
    def __init__(self, sized: bool) -> None:
        self.master, self.slave = pty.openpty()
        if sized:  # else it says 0 columns and 0 rows, as a pty nobody sized (script, CI runners)
            fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
        self.stream: TextIO = open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        self.written = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the slave side is closed
                return
            if not chunk:
                return
            self.written += chunk

    def close(self) -> bytes:
        self.stream.flush()
        self.stream.close()
        os.close(self.slave)
        self._reader.join(timeout=10)
        os.close(self.master)
        return bytes(self.written)


class Terminals:
    """stdout and stderr of one command run, each a terminal (of ``COLUMNS`` columns unless not ``sized``);
    ``close()`` returns (stdout bytes, stderr bytes)."""

    def __init__(self, *, sized: bool = True) -> None:
        self._out, self._err = _Pty(sized), _Pty(sized)
        self.out, self.err = self._out.stream, self._err.stream

    def close(self) -> tuple[bytes, bytes]:
        return self._out.close(), self._err.close()
