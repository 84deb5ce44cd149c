"""The vendored htmx is the pinned file, served as is; the pages need no inline script or style."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from nodes.service.desks import STATIC

TEMPLATES = sorted((STATIC.parent / "templates").glob("*.html"))


def pinned() -> tuple[str, str]:
    """(version, SHA-256) of htmx.min.js as VENDORED.md records them."""
    row = next(line for line in (STATIC / "VENDORED.md").read_text().splitlines() if line.startswith("| `htmx.min.js`"))
    cells = [cell.strip(" `") for cell in row.strip("|").split("|")]
    return cells[2], cells[3]


def test_htmx_is_the_pinned_file():
    version, sha256 = pinned()
    data = (STATIC / "htmx.min.js").read_bytes()
    assert version == "2.0.4"
    assert hashlib.sha256(data).hexdigest() == sha256
    assert b'version:"2.0.4"' in data


def test_the_static_files_are_served_as_they_are():
    from nodes.service.desks import mount

    app = FastAPI()
    mount(app)
    with TestClient(app) as client:
        htmx, css = client.get("/static/htmx.min.js"), client.get("/static/desk.css")
    assert htmx.status_code == css.status_code == 200
    assert htmx.content == (STATIC / "htmx.min.js").read_bytes()
    assert ":focus-visible" in css.text


def test_templates_hold_no_inline_script_style_or_handler():
    for template in TEMPLATES:
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), template.name
        assert "<style" not in source and " style=" not in source, template.name
        assert not re.search(r"\son[a-z]+=", source), template.name
        assert "hx-on" not in source, template.name


def test_every_page_loads_htmx_and_the_style_sheet_from_this_server(tmp_path: Path):
    base = (STATIC.parent / "templates" / "base.html").read_text()
    assert '<script src="/static/htmx.min.js" defer></script>' in base
    assert '<link rel="stylesheet" href="/static/desk.css">' in base
    assert "http" not in re.sub(r'content="[^"]*"', "", base)


def test_a_missing_browser_skips_but_fails_under_make_test(tmp_path, monkeypatch):
    import pytest

    import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv(browser.REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_or_skip()
    monkeypatch.setenv(browser.REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="no-chromium is absent"):
        browser.chromium_or_skip()
