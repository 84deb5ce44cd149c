"""Screenshots of every desk page, for docs/desks.md and the README: ``python deploy/screenshots.py``.

Starts a throwaway demo node (state BE) with a few weapons and a transfer licence, serves
its desks with uvicorn on a free local port, signs in as an officer of each desk's role
(licensing, customs, tracing, auditor, admin) and captures each page with
Playwright driving Debian's chromium (``/usr/bin/chromium``; ``make browser`` installs it).
Writes PNG files into docs/screenshots/ (or the folder given as the first argument).

Uses the service context of ``nodes.service`` when present (accounts created through it),
otherwise the desk tests' stand-in context (tests/support/desk_app.py).
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from browser import chromium, served  # noqa: E402  (tests/support, after the path above)

from domain.licence import LicenceKind  # noqa: E402
from domain.marking import Marking  # noqa: E402

PASSWORD = "demo desk password"
WEAPONS = [("FN Herstal", "BE", "AB123456", "pistol", "FN", "Five-seveN", "5.7x28mm", 2021, "Armurerie Liege"),
           ("FN Herstal", "BE", "AB123999", "rifle", "FN", "SCAR-L", "5.56x45mm", 2020, "Armurerie Liege"),
           ("Beretta", "IT", "PB77001", "pistol", "Beretta", "92FS", "9x19mm", 2019, "Armurerie Liege")]


# The demo's officers (the desk tests' stand-in accounts have the same names).
OFFICERS = {"lena": "licensing", "cleo": "customs", "tom": "tracing", "aud": "auditor", "ada": "admin"}
CSV = ("manufacturer,country,serial,type,calibre,year,manufactured_on,first_holder\n"
       "Browning,BE,HP-1965-001,pistol,9x19mm,1965,1965-04-12,FN Herstal\n"
       "Browning,XX,HP-1965-002,pistol,9x19mm,1965,1965-04-13,FN Herstal\n"
       "Browning,BE,HP-1965-003,pistol,9x19mm,1965,1965-04-14,FN Herstal\n")


@contextmanager
def demo_app(home: Path):
    """(app, node, password) of a demo node at ``home`` with an officer of each desk (``OFFICERS``)."""
    try:
        from nodes.service.app import create_app
        from nodes.service.context import open_service
    except ImportError:
        yield from _stand_in(home)
        return
    from domain.roles import Role
    from nodes.bootstrap import init_node
    from nodes.settings import Settings

    settings = Settings.load(environ={}, home=home, db=str(home / "ledger.db"), passphrase="demo passphrase")
    init_node(settings, "BE").close()
    with open_service(settings) as context:
        for name, role in OFFICERS.items():
            context.accounts.add_user(name, Role(role), PASSWORD)
        yield create_app(context), context.node, PASSWORD


def _stand_in(home: Path):
    import desk_app

    node = desk_app.open_desk_node(home, str(home / "ledger.db"))
    try:
        yield desk_app.desk_app(desk_app.DeskTestContext(node)), node, desk_app.PASSWORD
    finally:
        node.close()


def record_demo(node) -> str:
    """A few weapons and a transfer; returns the id of the weapon transferred."""
    registry = node.registry
    ids = [registry.manufacture(by="licensing", marking=Marking.read(m, c, s), type=t, make=mk, model=md,
                                calibre=cal, year=y, holder=h, occurred_on=1_700_000_000)
           for m, c, s, t, mk, md, cal, y, h in WEAPONS]
    registry.issue_licence(by="licensing", number="T-2024-0042", kind=LicenceKind.TRANSFER_LICENCE,
                           holder="Jan Peeters", valid_from=1_700_000_000, valid_until=4_102_444_800,
                           occurred_on=1_700_000_000)
    registry.transfer(by="licensing", weapon_id=ids[0], to_holder="Jan Peeters", licence="T-2024-0042",
                      occurred_on=1_710_000_000)
    node.settle()
    return str(ids[0])


def capture(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch, demo_app(Path(scratch) / "home") as (app, node, password):
        weapon_id = record_demo(node)
        csv_file = Path(scratch) / "register-1965.csv"
        csv_file.write_text(CSV, encoding="utf-8")
        with served(app) as url, chromium() as browser:
            page = browser.new_page(base_url=url, viewport={"width": 1200, "height": 800})

            def shot(file: str) -> None:
                path = out / f"{file}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

            def sign_in_as(name: str) -> None:
                nonlocal page
                page.context.close()
                page = browser.new_page(base_url=url, viewport={"width": 1200, "height": 800})
                page.goto("/sign-in")
                page.get_by_label("Name").fill(name)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(lambda address: "/sign-in" not in address)

            page.goto("/sign-in")
            shot("sign-in")
            sign_in_as("lena")
            page.goto("/search?serial=AB123*")
            shot("search")
            page.goto("/search?make=fn&calibre=5.7x28mm")
            shot("search-description")
            page.goto(f"/weapons/{weapon_id}")
            shot("timeline")
            page.goto("/licensing")
            shot("licensing")
            page.goto("/licensing/manufacture")
            page.get_by_label("Serial number").fill("ZZ-1")
            page.get_by_label("Year of manufacture").fill("1700")
            page.locator("form.form").evaluate("form => form.noValidate = true")
            page.get_by_role("button", name="Record manufacture").click()
            shot("manufacture-error")
            page.goto(f"/licensing/transfer?weapon={weapon_id}")
            page.get_by_label("New holder", exact=True).fill("Marie Dubois")
            page.get_by_label("Transfer licence number of the new holder").fill("T-2024-0042")
            page.get_by_role("button", name="Check the licence").click()
            page.locator("#licence-check .refused").wait_for()
            shot("transfer-check")
            page.goto("/licensing/licences/issue")
            shot("licence-issue")
            page.goto(f"/licensing/licences?number=T-2024-0042&kind={LicenceKind.TRANSFER_LICENCE.value}")
            shot("licence-lookup")
            sign_in_as("cleo")
            page.goto("/customs")
            shot("customs")
            sign_in_as("tom")
            page.goto("/tracing")
            shot("tracing")
            page.goto(f"/tracing/new?weapon={weapon_id}")
            shot("trace-request")
            page.goto(f"/tracing/verdict?weapon={weapon_id}&purpose=case+2024%2F118")
            shot("verdict")
            sign_in_as("aud")
            page.goto("/audit")
            page.get_by_role("button", name="Verify the store now").click()
            page.get_by_text("Records checked", exact=True).wait_for(timeout=60_000)
            page.goto("/audit")
            shot("audit")
            page.goto("/audit/reads")
            shot("read-audit")
            sign_in_as("ada")
            page.goto("/admin")
            shot("admin")
            page.goto("/admin/import")
            page.get_by_label("CSV file").set_input_files(str(csv_file))
            page.get_by_role("button", name="Import the file").click()
            page.get_by_text("Refused rows").wait_for(timeout=60_000)
            shot("import")
    return shots


if __name__ == "__main__":
    for written in capture(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"):
        print(written.relative_to(ROOT) if written.is_relative_to(ROOT) else written)
