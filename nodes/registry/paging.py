"""Reading a log page by page from a position: the node's own log or the records received.

Positions have gaps (PostgreSQL sequences skip, filtered topics skip), so each page
resumes after the last position it returned; a page shorter than asked for is the end.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from ledger.envelope import Envelope

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from nodes.ports import NotificationLog, ReceivedRecords

#: Notifications read per query unless told otherwise.
PAGE = 1000

T = TypeVar("T")


def paged(read: Callable[[int, int], Sequence[T]], position: Callable[[T], int], *, start: int = 1,
          limit: int = PAGE, first: int | None = None) -> Iterator[Sequence[T]]:
    """Pages ``read(start, size)`` from ``start`` on, until a page shorter than the size asked.

    ``position(item)`` is an item's position; the next page starts after the last one. Every page asks
    for ``limit`` items; with ``first``, the first asks for ``first`` and each next one for twice the
    last, up to ``limit`` (a reader that hands each page on starts the next stage sooner).
    Requires ``start >= 1``, ``limit >= 1`` and ``1 <= first <= limit``. Errors of ``read`` pass through.
    """
    size = limit if first is None else first
    if start < 1 or not 1 <= size <= limit:
        raise ValueError(f"start {start}, limit {limit} and first {first}: requires start >= 1 and "
                         "1 <= first <= limit")
    while True:
        page = read(start, size)
        if page:
            yield page
        if len(page) < size:
            return
        start = position(page[-1]) + 1
        size = min(2 * size, limit)


def notification_pages(log: NotificationLog, *, start: int = 1, topics: Sequence[str] = (),
                       limit: int = PAGE) -> Iterator[Sequence[Notification]]:
    """The notifications of ``log`` from position ``start`` on, of ``topics`` (all if empty), in pages."""
    topics = tuple(topics)
    return paged(lambda at, n: log.select_notifications(start=at, limit=n, topics=topics),
                 _notification_id, start=start, limit=limit)


def notifications(log: NotificationLog, *, start: int = 1, topics: Sequence[str] = (),
                  limit: int = PAGE) -> Iterator[Notification]:
    """As ``notification_pages``, one notification at a time."""
    for page in notification_pages(log, start=start, topics=topics, limit=limit):
        yield from page


def signed(log: NotificationLog, types: Collection[str], *, start: int = 1,
           limit: int = PAGE) -> Iterator[Envelope]:
    """The envelopes of ``log`` whose signed type is one of ``types``, in log order.

    The unsigned topic column only narrows the read (an indexed filter); each row it
    selects is decided by its signed type, so a row whose topic was changed *to* one of
    ``types`` is never taken. A row whose topic was changed *away* from them is not seen,
    as a deleted row would not be: ``armsledger verify`` names both (a row's columns must
    equal its envelope). Reading every row instead would make each export check and trace
    look-up linear in the size of the log. Requires every row of ``log`` to hold an
    envelope (the node's own log does); ``EncodingError`` for one that does not.
    """
    wanted = frozenset(types)
    for notification in notifications(log, start=start, topics=sorted(wanted), limit=limit):
        envelope = Envelope.from_bytes(notification.state)
        if envelope.type in wanted:
            yield envelope


def received_pages(inbox: ReceivedRecords, *, start: int = 1,
                   limit: int = PAGE) -> Iterator[Sequence[tuple[int, Envelope]]]:
    """The partner envelopes ``inbox`` accepted from position ``start`` on, as (position, envelope) pages."""
    return paged(inbox.received_notifications, _first, start=start, limit=limit)


def received(inbox: ReceivedRecords, *, start: int = 1, limit: int = PAGE) -> Iterator[tuple[int, Envelope]]:
    """As ``received_pages``, one (position, envelope) at a time."""
    for page in received_pages(inbox, start=start, limit=limit):
        yield from page


def _notification_id(notification: Notification) -> int:
    return notification.id


def _first(item: tuple[int, Envelope]) -> int:
    return item[0]
