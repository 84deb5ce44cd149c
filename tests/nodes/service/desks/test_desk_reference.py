"""The reference table's page over HTTP, on each backend: linked from the search desk, entries found by
text and by make, nothing read-audited (it holds no weapon), and no page for a signed-out browser."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nodes.bootstrap import init_node
from nodes.reference import matching
from nodes.settings import Settings

from desk_app import DeskTestContext, desk_app
from desk_steps import sign_in


def test_an_officer_looks_up_the_reference_table(tmp_path, db_url):
    node = init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    context = DeskTestContext(node)
    try:
        matching.import_entries(node, starter=True)
        with TestClient(desk_app(context)) as client:
            assert client.get("/reference", follow_redirects=False).status_code == 303  # to the sign-in
            sign_in(client, "paul")
            assert 'href="/reference"' in client.get("/search").text
            empty = client.get("/reference")
            assert empty.status_code == 200 and "Entries" not in empty.text
            found = client.get("/reference", params={"text": "glock 9mm"})
            assert found.status_code == 200 and "ST-0001" in found.text and "ST-0005" not in found.text
            by_make = client.get("/reference", params={"make": "S&W", "calibre": ".38 Spl"})
            assert "ST-0045" in by_make.text and "ST-0047" in by_make.text and "ST-0044" not in by_make.text
            assert "No entry matches." in client.get("/reference", params={"model": "Nope"}).text
        assert context.reads == []
    finally:
        context.close()
        node.close()
