"""``armsledger retention report|run`` on each backend: the report names the holder whose every record is past
its period; the run erases that identity with a signed erasure record, after which no command and no table
gives it back while ``verify`` stays 0; refusals exit 2 and write nothing; a restored vault is erased again."""

from __future__ import annotations

import pytest
from stored_text import stored_values

from domain.erasure import erasure_id
from domain.errors import PersonErased
from nodes.bootstrap import open_node
from nodes.persons.vault import TABLE, IdentityVault
from nodes.settings import Settings

from inprocess_cli import PASSPHRASE, Cli
from insider import sql
from retention_story import KEPT_NAME, OLD_NAME, SOON_NAME, Holders, holders_story


@pytest.fixture
def register(env, capsys, tmp_path, db_url) -> tuple[Cli, Holders]:
    cli = Cli(capsys, tmp_path / "be", db_url)
    cli.ok("init", "--state", "BE")
    with open_node(settings(cli), unlock=True) as node:
        holders = holders_story(node)
    return cli, holders


def settings(cli: Cli) -> Settings:
    return Settings.load({"ARMSLEDGER_PASSPHRASE": PASSPHRASE}, home=cli.home, db=cli.db)


def test_the_report_names_the_holder_whose_every_record_is_past_and_what_falls_due_next(register):
    cli, holders = register
    report = cli.ok("retention", "report", "--on", "2026-01-01", "--json").json()
    assert [p["reference"] for p in report["erasable"]] == [holders.old]
    assert report["erasable"][0] | {"records": 1} == {"reference": holders.old, "class": "manufacture",
                                                      "years": 30, "due_on": "2010-06-01T00:00:00Z", "records": 1}
    assert report["next_person"] == {"reference": holders.soon, "due_on": "2031-01-01T00:00:00Z"}
    by_class = {c["class"]: c for c in report["classes"]}
    # Past: the 1960 manufacture and the 1980 destruction (both due 2010); the authority register of init is
    # not (twenty years from now); the kept weapon's record never while it exists.
    assert by_class["manufacture"]["records_past"] == 1 and by_class["other"]["records_past"] == 1
    assert by_class["manufacture"]["next_due"] == "2031-01-01T00:00:00Z"
    text = cli.ok("retention", "report", "--on", "2040-01-01").out
    assert holders.old in text and holders.soon in text and holders.kept not in text


def test_the_run_erases_the_identity_with_a_signed_record_and_verify_stays_zero(register):
    cli, holders = register
    assert cli.ok("retention", "run", "--dry-run", "--json").json()["would_erase"] == [holders.old]
    assert cli.ok("retention", "run", "--json").json()["erased"] == [holders.old]
    with open_node(settings(cli), unlock=True) as node, IdentityVault.open(node.settings) as vault:
        with pytest.raises(PersonErased):
            vault.identity(holders.old)
        assert vault.identity(holders.soon).name == SOON_NAME
        erasure = node.registry.envelopes(erasure_id(holders.old))
        assert [(e.type, e.body["reference"], e.body["retention_class"], e.body["years"]) for e in erasure] == [
            ("PersonErasure.Recorded", holders.old, "manufacture", 30)]
        assert rows_holding(node.settings.db, OLD_NAME.encode()) == []
        assert rows_holding(node.settings.db, KEPT_NAME.encode()) == []   # the vault holds names encrypted only
        row = vault_row(node.settings.db, holders.old)
        assert row == (None, None, None)   # no wrapped key, no ciphertext, no blind index left to open
    cli.ok("verify")
    shown = cli.ok("person", "show", holders.old, "--purpose", "subject access request", "--json")
    assert shown.json()["erased"] is True and shown.json()["identity"] is None and OLD_NAME not in shown.out
    weapon = shown.json()["records"][0]["stream"]
    history = cli.ok("history", weapon, "--purpose", "retention check")
    assert holders.old in history.out and OLD_NAME not in history.out
    assert cli.ok("retention", "run", "--json").json()["erased"] == []        # repeatable: nothing twice
    assert cli.ok("retention", "report", "--json").json()["erasable"] == []


def test_a_vault_restored_from_before_the_erasure_is_erased_again(register):
    cli, holders = register
    with open_node(settings(cli), unlock=True) as node:
        before = vault_row(node.settings.db, holders.old)
    cli.ok("retention", "run")
    with open_node(settings(cli), unlock=True) as node:
        wrapped_key, sealed = before[0], before[1]
        assert isinstance(wrapped_key, bytes) and isinstance(sealed, bytes)
        assert rows_holding(node.settings.db, wrapped_key) == rows_holding(node.settings.db, sealed) == []
        restore_row(node.settings.db, holders.old, before)
        with IdentityVault.open(node.settings) as vault:
            assert vault.identity(holders.old).name == OLD_NAME       # the backup brought it back
    report = cli.ok("retention", "report", "--json").json()
    assert report["unfinished"] == [holders.old] and report["erasable"] == []
    assert cli.ok("retention", "run", "--json").json()["finished"] == [holders.old]
    with open_node(settings(cli), unlock=True) as node, IdentityVault.open(node.settings) as vault:
        assert vault.is_erased(holders.old)
        assert len(node.registry.envelopes(erasure_id(holders.old))) == 1   # the record is not repeated
    cli.ok("verify")


@pytest.mark.parametrize(("argv", "env_var", "option", "reason"), [
    (("retention", "report", "--on", "1st of May"), None, "--on", "is not a date"),
    (("retention", "run", "--on", "2999-01-01"), None, "--on", "in the future"),
    (("retention", "run"), ("ARMSLEDGER_RETENTION_YEARS_OTHER", "5"), "ARMSLEDGER_RETENTION_YEARS_OTHER",
     "below the legal minimum"),
])
def test_refusals_name_the_option_and_erase_nothing(register, env, argv, env_var, option, reason):
    cli, holders = register
    if env_var:
        env.setenv(*env_var)
    refused = cli.refused(*argv)
    assert option in refused.err and reason in refused.err
    with open_node(settings(cli), unlock=True) as node, IdentityVault.open(node.settings) as vault:
        assert not vault.is_erased(holders.old)
        assert node.registry.envelopes(erasure_id(holders.old)) == []


def rows_holding(db: str, needle: bytes) -> list[str]:
    """The tables of ``db`` with a value that contains ``needle``."""
    return [table for table, value in stored_values(db) if needle in value]


def vault_row(db: str, ref: str) -> tuple[object, ...]:
    rows = sql(db, f"SELECT wrapped_key, sealed, blind_index FROM {TABLE} WHERE ref = ?", ref)
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in rows[0])


def restore_row(db: str, ref: str, row: tuple[object, ...]) -> None:
    """Put back the row of ``ref`` as a backup of the vault taken before its erasure holds it."""
    sql(db, f"UPDATE {TABLE} SET wrapped_key = ?, sealed = ?, blind_index = ?, erased_at = NULL WHERE ref = ?",
        *row, ref)


def test_a_damaged_key_encryption_key_fails_with_exit_1_and_erases_nothing(register):
    cli, holders = register
    kek = cli.home / "keys" / "kek"
    kek.write_bytes(kek.read_bytes()[:40])   # cut short: no passphrase opens it
    for argv in (("retention", "report"), ("retention", "run")):
        damaged = cli(*argv)
        assert damaged.code == 1 and "key-encryption key" in damaged.err, damaged.err
    with open_node(settings(cli), unlock=True) as node:
        assert node.registry.envelopes(erasure_id(holders.old)) == []
