"""Secrets and files: private modes, masked DSNs, a passphrase long enough for ``init``."""

from __future__ import annotations

import stat

import pytest

from nodes.cli.main import run
from nodes.errors import ConfigurationError
from nodes.registry.storage import eventsourcing_env, masked_dsn
from nodes.settings import Settings

LONG = "a passphrase long enough"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_home_owner_only_and_its_files_0600(tmp_path):
    home = tmp_path / "node"
    env = {"ARMSLEDGER_PASSPHRASE": LONG}
    assert run(["--home", str(home), "init", "--state", "NL"], env) == 0
    assert mode(home) == 0o700
    for name in ("node.json", "ledger.db"):
        assert mode(home / name) == 0o600, name
    for extra in ("ledger.db-wal", "ledger.db-shm"):
        if (home / extra).exists():
            assert mode(home / extra) == 0o600, extra
    for key in (home / "keys").iterdir():
        assert mode(key) & 0o077 == 0, key


@pytest.mark.parametrize("passphrase", ["x", "eleven char"])
def test_init_refuses_a_short_passphrase_naming_the_variable_and_writes_nothing(tmp_path, capsys, passphrase):
    home = tmp_path / "node"
    assert run(["--home", str(home), "init", "--state", "NL"], {"ARMSLEDGER_PASSPHRASE": passphrase}) == 2
    assert "ARMSLEDGER_PASSPHRASE" in capsys.readouterr().err
    assert not home.exists()


def test_init_accepts_twelve_characters(tmp_path):
    assert run(["--home", str(tmp_path / "n"), "init", "--state", "NL"], {"ARMSLEDGER_PASSPHRASE": "x" * 12}) == 0


@pytest.mark.parametrize("dsn", [
    "postgresl://armsledger:S3cretPw@db:5432/ledger",
    "postgresql://armsledger:S3cretPw@db:5432/",
    "mysql://root:S3cretPw@localhost/x",
])
def test_a_dsn_in_an_error_never_shows_its_password(dsn):
    with pytest.raises(ConfigurationError) as refused:
        eventsourcing_env(dsn)
    assert "S3cretPw" not in str(refused.value)
    assert "***" in str(refused.value)


def test_a_mistyped_scheme_on_the_command_line_is_refused_without_the_password(tmp_path, capsys):
    code = run(["--home", str(tmp_path / "n"), "--db", "postgresl://u:S3cretPw@h/db", "init", "--state", "NL"],
               {"ARMSLEDGER_PASSPHRASE": LONG})
    err = capsys.readouterr().err
    assert code == 2 and "S3cretPw" not in err and "postgresl://u:***@h/db" in err


def test_masked_dsn_keeps_everything_but_the_password():
    assert masked_dsn("postgresql://u:p%40ss@host:5/db?x=1") == "postgresql://u:***@host:5/db?x=1"
    assert masked_dsn("postgresql://u@host/db") == "postgresql://u@host/db"
    assert masked_dsn("/var/lib/ledger.db") == "/var/lib/ledger.db"


def test_settings_never_show_the_password():
    settings = Settings.load({}, home="h", db="postgresql://u:S3cretPw@h/db", passphrase="also secret")
    assert "S3cretPw" not in repr(settings) and "also secret" not in repr(settings)
    assert settings.shown_db == "postgresql://u:***@h/db"


def test_the_sqlite_wal_and_shm_files_of_an_open_node_are_0600(tmp_path):
    from nodes.bootstrap import init_node

    settings = Settings.load({}, home=tmp_path / "node", passphrase=LONG)
    with init_node(settings, "NL") as node:
        node.settle()  # written, still open: the -wal and -shm files exist now
        files = {p.name: mode(p) for p in settings.home.glob("ledger.db*")}
    assert {"ledger.db", "ledger.db-wal", "ledger.db-shm"} <= set(files)
    assert set(files.values()) == {0o600}
