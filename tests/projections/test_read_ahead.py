"""``PagesAhead`` gives the pages a sequential read and parse gives, in turn, on each backend (``db_url``);
``ItemsAhead`` the items of any iterator."""

from __future__ import annotations

import threading

import pytest

from projections.batch import parse_page
from projections.log_pages import read_page
from projections.read_ahead import ItemsAhead, PagesAhead


def pages_in_turn(recorder, start: int, size: int, until: int | None) -> list:
    pages, position = [], start
    while until is None or position <= until:
        notifications = read_page(recorder, position, size, until)
        if not notifications:
            break
        pages.append(parse_page(notifications))
        position = notifications[-1].id + 1
    return pages


def pages_ahead(recorder, start: int, size: int, until: int | None, depth: int = 2) -> list:
    with PagesAhead(recorder, start, size, until, depth) as ahead:
        pages = []
        while (page := ahead.next()) is not None:
            pages.append(page)
        assert ahead.next() is None  # and stays at the end
        return pages


def test_the_pages_are_those_read_and_parsed_one_after_the_other(belgium):
    recorder = belgium.registry.recorder
    last = recorder.max_notification_id()
    assert last > 10
    for start, size, until, depth in [(1, 1000, None, 2), (1, 3, None, 1), (4, 5, None, 3), (2, 3, 7, 2),
                                      (7, 10, 7, 2), (8, 10, 7, 2), (last + 1, 10, None, 2)]:
        expected = pages_in_turn(recorder, start, size, until)
        assert pages_ahead(recorder, start, size, until, depth) == expected, (start, size, until, depth)
    assert sum(page.processed for page in pages_ahead(recorder, 1, 4, None)) == last


class FailingRecorder:
    """The log's recorder whose ``fail_at``-th read raises."""

    def __init__(self, recorder, fail_at: int):
        self.recorder, self.fail_at, self.reads = recorder, fail_at, 0

    def select_notifications(self, start, limit, **kwargs):
        self.reads += 1
        if self.reads == self.fail_at:
            raise RuntimeError(f"read {self.reads} failed")
        return self.recorder.select_notifications(start=start, limit=limit, **kwargs)


def test_a_read_that_fails_raises_in_its_turn_after_the_pages_before_it_and_no_page_after_it_is_read(belgium):
    recorder = belgium.registry.recorder
    failing = FailingRecorder(recorder, fail_at=3)
    expected = pages_in_turn(recorder, 1, 2, None)
    with PagesAhead(failing, 1, 2, None) as ahead:  # type: ignore[arg-type]
        assert [ahead.next(), ahead.next()] == expected[:2]
        with pytest.raises(RuntimeError, match="read 3 failed"):
            ahead.next()
        assert ahead.next() is None
    assert failing.reads == 3


def test_closing_stops_the_thread_waiting_for_room(belgium):
    before = {t.ident for t in threading.enumerate()}
    ahead = PagesAhead(belgium.registry.recorder, 1, 1, None, depth=1)
    assert ahead.next() is not None  # the thread has read more pages than the consumer took
    ahead.close()
    assert not [t for t in threading.enumerate() if t.ident not in before and t.name == "views-read-ahead"]
    assert ahead.next() is None


def test_items_ahead_gives_the_items_in_turn_and_raises_an_error_in_its_turn():
    for depth in (1, 2, 5):
        with ItemsAhead(iter(range(10)), depth) as ahead:
            assert list(ahead) == list(range(10))
            assert list(ahead) == []  # and stays at the end

    taken: list[int] = []

    def failing():
        for item in range(5):
            taken.append(item)
            yield item
        raise ValueError("unreadable row")

    with ItemsAhead(failing()) as ahead:
        received = []
        with pytest.raises(ValueError, match="unreadable row"):
            for item in ahead:
                received.append(item)
    assert received == taken == list(range(5))


def test_items_ahead_closed_early_stops_its_thread_and_closes_the_items():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    ahead = ItemsAhead(endless(), depth=2)
    assert next(iter(ahead)) == 0
    ahead.close()
    assert closed.is_set()  # close waits for the thread, which closes the items as it ends
