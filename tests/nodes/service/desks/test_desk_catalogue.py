"""Every string a desk shows comes from the message catalogue, and every id used is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.licence import LicenceKind
from nodes.service.desks import licensing_pages
from nodes.service.desks.messages import CATALOGUES, DEFAULT_LANGUAGE, ENGLISH, language_for, translator

DESKS = Path(licensing_pages.__file__).parent
TEMPLATES = sorted((DESKS / "templates").glob("*.html"))
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TAG = re.compile(r"<[^>]*>", re.S)
SHOWN_ATTRIBUTES = re.compile(r'\b(aria-label|placeholder|title|alt)="([^"]*)"')
# A literal id: ``t("search.title"`` followed by ``,`` or ``)`` (``t("kind." ~ kind)`` is checked below).
USED_ID = re.compile(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']\s*[,)]""")


def used_ids() -> set[str]:
    modules = [path for path in DESKS.glob("*.py") if path.name != "messages.py"]
    sources = [path.read_text() for path in [*TEMPLATES, *modules]]
    return {found for text in sources for found in USED_ID.findall(text)}


def test_there_are_templates_to_check():
    assert len(TEMPLATES) >= 8


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_a_template_shows_no_words_of_its_own(template):
    source = template.read_text()
    text = TAG.sub(" ", JINJA.sub(" ", source))
    words = re.findall(r"[A-Za-z]{2,}", text)
    assert words == [], f"{template.name} shows words outside the catalogue: {words}"
    for attribute, value in SHOWN_ATTRIBUTES.findall(source):
        assert not re.search(r"[A-Za-z]", JINJA.sub("", value)), f"{template.name}: {attribute}={value!r}"


def test_the_check_finds_a_literal_word():
    text = TAG.sub(" ", JINJA.sub(" ", "<p>{{ t('x') }} Search</p>"))
    assert re.findall(r"[A-Za-z]{2,}", text) == ["Search"]


def test_every_message_id_used_is_in_the_catalogue():
    used = used_ids()
    assert {"signin.title", "timeline.col_officer", "layout.skip"} <= used
    assert sorted(used - ENGLISH.keys()) == []


def test_every_form_field_and_licence_kind_has_a_label():
    names = {*licensing_pages.MANUFACTURE, *licensing_pages.TRANSFER, *licensing_pages.ISSUE,
             *licensing_pages.REVOKE, *licensing_pages.LOOKUP}
    assert sorted(f"field.{n}" for n in names if f"field.{n}" not in ENGLISH) == []
    assert sorted(f"kind.{k.value}" for k in LicenceKind if f"kind.{k.value}" not in ENGLISH) == []


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_every_language_has_every_message(language):
    assert sorted(ENGLISH.keys() - CATALOGUES[language].keys()) == []
    for message_id, text in CATALOGUES[language].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", ENGLISH[message_id])), message_id


def test_the_language_is_the_first_one_asked_for_that_has_a_catalogue():
    assert language_for("xx-YY, en;q=0.5") == "en"
    assert language_for("") == DEFAULT_LANGUAGE
    assert translator("en")("signin.too_many", seconds=30) == "Too many failed attempts. Try again in 30 seconds."
    with pytest.raises(KeyError):
        translator("en")("no.such.message")


def test_every_link_label_of_the_nav_and_the_desks_is_in_the_catalogue():
    from domain.roles import Role
    from nodes.accounts.officer import Officer
    from nodes.service.desks.rendering import desks_for

    labels = {item.label for role in Role for item in desks_for(Officer("", "x", role))}
    labels |= {label for _, label, _ in licensing_pages.FORMS} | {"licensing.lookup"}
    assert {"nav.search", "nav.licensing"} <= labels
    assert sorted(labels - ENGLISH.keys()) == []
