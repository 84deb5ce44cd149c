"""Progress of the long commands (``import-csv``, ``rebuild``, ``verify``, ``sync``, ``node run``'s first
catch-up) on the operator's terminal.

The work reports through a plain callback, ``progress(done, total)`` (``total`` None while it
is not known), and knows nothing of terminals; this module draws it on stderr as a bar with
the count, the rate and the time left (tqdm). Nothing is drawn unless stdout and stderr are
both terminals and ``--json`` was not given, so pipes, scripts and logs get the same bytes as
without it; a run over in less than ``DELAY_S`` draws nothing either.

tqdm rather than rich: one small pure-Python package with no dependencies, which writes plain
text to the stream it is handed (the invocation's stderr) and estimates rate and time left itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from projections.views import Progress

if TYPE_CHECKING:
    from nodes.cli.invocation import Invocation

__all__ = ["Progress", "draws_progress", "progress_of"]

#: Work over in less than this many seconds draws nothing (a sync of three messages needs no bar).
DELAY_S = 0.5
#: Counts from this one on are shown scaled (12.3k).
SCALED_FROM = 10_000
#: Size taken for a terminal that gives none (a pty nobody sized).
DEFAULT_COLUMNS, DEFAULT_ROWS = 80, 24
#: The bar is redrawn at most this often.
REDRAW_S = 0.2

_KNOWN_TOTAL = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} [{remaining} left, {rate_fmt}]"
_UNKNOWN_TOTAL = "{desc}: {n_fmt}{unit} [{elapsed} elapsed, {rate_fmt}]"


def draws_progress(run: Invocation) -> bool:
    """Whether ``run`` draws progress: stdout and stderr are terminals and ``--json`` was not given."""
    return not run.wants_json and _is_terminal(run.out) and _is_terminal(run.err)


@contextmanager
def progress_of(run: Invocation, description: str, unit: str) -> Iterator[Progress]:
    """A ``Progress`` callback for the work done inside the block, drawn as "``description``: 42% ...
    1.2k/3k ``unit`` [00:03 left, 850 ``unit``/s]" when ``draws_progress(run)``, else one that does nothing.
    Log records written meanwhile (``sync``'s quarantine warnings) appear above the bar."""
    if not draws_progress(run):
        yield _nothing
        return
    from tqdm.contrib.logging import logging_redirect_tqdm  # type: ignore[import-untyped]  # no type hints

    bar = _Bar(run.err, description, unit)
    try:
        with logging_redirect_tqdm():
            yield bar.show
    finally:
        bar.close()


class _Bar:
    """A tqdm bar made at the first report of any work, so that a command with nothing to do draws nothing,
    and closed when the work is complete (later reports, such as a sync's second pass, are not drawn)."""

    def __init__(self, stream: TextIO, description: str, unit: str):
        self.stream, self.description, self.unit = stream, description, unit
        self.bar: Any = None  # a tqdm bar, once there is work to show
        self.finished = False

    def show(self, done: int, total: int | None) -> None:
        if self.finished:
            return
        if self.bar is None:
            if not done and not total:
                return
            from tqdm import tqdm  # type: ignore[import-untyped]

            sized = _width(self.stream) > 0
            # unit_scale: 1.23M/2.00M for large counts; small ones exactly (scaled, 40 would be 40.0)
            self.bar = tqdm(desc=self.description, unit=f" {self.unit}", unit_scale=not total or total >= SCALED_FROM,
                            file=self.stream, total=total, delay=DELAY_S, mininterval=REDRAW_S, leave=True,
                            dynamic_ncols=sized, ncols=None if sized else DEFAULT_COLUMNS,
                            nrows=None if sized else DEFAULT_ROWS,  # tqdm draws nothing on 0 rows
                            bar_format=_KNOWN_TOTAL if total else _UNKNOWN_TOTAL)
        bar = self.bar
        if total != bar.total:
            bar.total = total
            bar.bar_format = _KNOWN_TOTAL if total else _UNKNOWN_TOTAL
        if done >= bar.n:
            bar.update(done - bar.n)
        else:  # the work started over (a sync whose broker lost its topic): show where it is
            bar.n = done
            bar.refresh()
        if total and done >= total:  # complete: drawn as such now (node run goes on for hours)
            self.finished = True
            bar.close()

    def close(self) -> None:
        if self.bar is not None and not self.finished:
            self.bar.close()


def _nothing(done: int, total: int | None) -> None:
    pass


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
