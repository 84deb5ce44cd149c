"""The progress callbacks of the long work, on each backend: import, projection rebuild, verify.

Each is told ``(done, total)`` going up, ending with done == total; the CLI draws what it is told
(tests/nodes/cli/test_cli_progress.py)."""

from __future__ import annotations

import pytest

from nodes.bootstrap import init_node
from nodes.migration import import_csv
from nodes.registry.verify import verify_store
from nodes.settings import Settings

CSV_HEADER = "manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"
ROWS = 25


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def told(calls: list[tuple[int, int | None]]) -> None:
    """Counts never go back, never pass their total, and end complete."""
    assert calls, "the callback was never called"
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert all(total is not None and 0 <= done <= total for done, total in calls)
    assert calls[-1][0] == calls[-1][1]


def test_import_rebuild_and_verify_tell_their_progress(node, tmp_path):
    register = tmp_path / "register.csv"
    # a blank line: the file's lines overcount its rows, and the import still ends complete
    register.write_text(CSV_HEADER + "".join(f"FN Herstal,BE,C-{i},pistol,FN,57,5.7,2019,2019-05-01,FN\n"
                                             for i in range(ROWS)) + "\n")
    imported: list[tuple[int, int | None]] = []
    report = import_csv(node, register, batch_size=10, workers=0,
                        progress=lambda done, total: imported.append((done, total)))
    assert report.imported == ROWS
    told(imported)
    assert imported[0] == (10, ROWS + 1) and imported[-1] == (ROWS, ROWS)
    node.settle()

    size = node.registry.recorder.max_notification_id()
    rebuilt: list[tuple[int, int | None]] = []
    assert node.views.rebuild(node.registry, progress=lambda done, total: rebuilt.append((done, total))) == size
    told(rebuilt)
    assert rebuilt[-1] == (size, size)

    checked: list[tuple[int, int | None]] = []
    assert verify_store(node, workers=1, progress=lambda done, total: checked.append((done, total))).ok
    told(checked)
    assert checked[-1] == (2 * size, 2 * size)  # each own record audited and projected again; no inbox rows
    assert any(0 < done < 2 * size for done, _ in checked)  # told along the way, not only at the end
