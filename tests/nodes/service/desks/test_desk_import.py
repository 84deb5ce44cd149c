"""The CSV import page over HTTP: a worker imports, the page polls, refused rows are listed by line."""

from __future__ import annotations

import threading
import time

from domain.marking import Marking

from desk_app import OFFICERS
from desk_steps import sign_in

HEADER = "manufacturer,country,serial,type,calibre,year,manufactured_on,first_holder\n"
GOOD = "FN Herstal,BE,IMP-1,pistol,9x19mm,1965,1965-04-12,FN Herstal\n"
BAD = "FN Herstal,XX,IMP-2,pistol,9x19mm,1965,1965-04-12,FN Herstal\n"


def finished(client, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get("/admin/import", headers={"HX-Request": "true"}).text
        if "hx-trigger" not in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the import did not finish")


def test_an_import_records_good_rows_and_lists_refused_ones_by_line(client, desk_context):
    csrf = sign_in(client, "ada")
    assert "No import since the service started." in client.get("/admin/import").text
    started = client.post("/admin/import", data={"csrf_token": csrf},
                          files={"file": ("register.csv", HEADER + GOOD + BAD, "text/csv")}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/admin/import"
    page = finished(client)
    assert "register.csv: 1 weapon recorded (1 signed record)" in page and "1 row refused" in page
    assert "<tr><td>3</td><td>country</td>" in page
    weapon = Marking.read("FN Herstal", "BE", "IMP-1").weapon_id()
    assert [e.body["officer"] for e in desk_context.node.registry.envelopes(weapon)] == [OFFICERS["ada"].user_id]
    assert desk_context.node.views.lifecycle(weapon) is not None        # settled: projected
    assert not list(desk_context.node.settings.home.glob("import-*.csv"))  # the upload is removed


def test_a_second_import_while_one_runs_is_refused(client, desk_context, monkeypatch):
    from nodes.service.desks import import_pages

    release = threading.Event()

    def halfway(node, path, workers, progress):  # reports half the rows done, then holds
        progress(5, 10)
        return release.wait(30)

    monkeypatch.setattr(import_pages, "import_csv", halfway)
    csrf = sign_in(client, "ada")
    upload = {"file": ("a.csv", HEADER + GOOD, "text/csv")}
    assert client.post("/admin/import", data={"csrf_token": csrf}, files=upload,
                       follow_redirects=False).status_code == 303
    again = client.post("/admin/import", data={"csrf_token": csrf}, files=upload)
    deadline = time.monotonic() + 30
    while "5 of 10 rows done." not in client.get("/admin/import", headers={"HX-Request": "true"}).text:
        assert time.monotonic() < deadline, "the running import's progress was never shown"
        time.sleep(0.05)
    release.set()
    assert again.status_code == 409 and "one is already running" in again.text and 'href="#f-file"' in again.text


def test_a_file_is_required_and_other_roles_are_refused(client):
    csrf = sign_in(client, "ada")
    missing = client.post("/admin/import", data={"csrf_token": csrf})
    assert missing.status_code == 422 and 'href="#f-file"' in missing.text
    client.cookies.clear()
    csrf = sign_in(client, "lena")
    refused = client.post("/admin/import", data={"csrf_token": csrf}, files={"file": ("a.csv", HEADER, "text/csv")})
    assert refused.status_code == 403
