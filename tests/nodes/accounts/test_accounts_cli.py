"""``armsledger user ...`` and ``armsledger token ...`` in-process: output, exit codes, refusals naming the field."""

from __future__ import annotations

from nodes.accounts.store import Accounts

PASSWORD = "a long enough secret"


def test_an_account_added_with_a_password_on_stdin_signs_in_with_it(cli, stdin):
    stdin(PASSWORD + "\n")
    added = cli.ok("user", "add", "Alice", "--role", "licensing", "--password-stdin", "--json").json()
    assert (added["name"], added["role"], added["password"]) == ("alice", "licensing", None)
    assert PASSWORD not in cli.ok("user", "list").out
    with Accounts.open(cli.db) as accounts:
        assert accounts.sign_in("alice", PASSWORD, "127.0.0.1").user_id == added["user_id"]


def test_an_account_added_without_a_password_gets_one_printed_once(cli):
    out = cli.ok("user", "add", "bob", "--role", "customs").out
    password = out.rsplit(": ", 1)[1].strip()
    assert "shown once" in out and len(password) >= 12
    with Accounts.open(cli.db) as accounts:
        assert accounts.sign_in("bob", password, "127.0.0.1").name == "bob"
    assert password not in cli.ok("user", "list", "--json").out


def test_user_list_disable_enable_role_and_password(cli, stdin):
    cli.ok("user", "add", "carol", "--role", "police")
    cli.ok("user", "role", "carol", "tracing")
    cli.ok("user", "disable", "carol")
    [listed] = cli.ok("user", "list", "--json").json()
    assert (listed["name"], listed["role"], listed["enabled"]) == ("carol", "tracing", False)
    cli.ok("user", "enable", "carol")
    stdin("another long secret\n")
    cli.ok("user", "password", "carol", "--password-stdin")
    assert "enabled" in cli.ok("user", "list").out
    with Accounts.open(cli.db) as accounts:
        assert accounts.sign_in("carol", "another long secret", "127.0.0.1").role.value == "tracing"


def test_a_token_is_printed_once_listed_without_it_and_revoked(cli):
    cli.ok("user", "add", "dave", "--role", "tracing")
    created = cli.ok("token", "create", "--user", "dave", "--days", "7", "--label", "case desk", "--json").json()
    token = created["token"]
    listed = cli.ok("token", "list", "--json")
    assert token not in listed.out
    assert [(t["token_id"], t["label"], t["status"]) for t in listed.json()] == [
        (created["token_id"], "case desk", "active")]
    with Accounts.open(cli.db) as accounts:
        assert accounts.officer_for_token(token).name == "dave"
    cli.ok("token", "revoke", created["token_id"])
    assert cli.ok("token", "list", "--user", "dave", "--json").json()[0]["status"] == "revoked"


def test_bad_input_is_refused_with_exit_2_naming_the_field(cli, stdin):
    cli.ok("user", "add", "erin", "--role", "police")
    assert "name (NAME)" in cli.refused("user", "add", "Erin", "--role", "police").err
    assert "NAME" in cli.refused("user", "add", "bad name", "--role", "police").err
    assert "--role" in cli.refused("user", "add", "frank", "--role", "sheriff").err
    stdin("short\n")
    assert "password" in cli.refused("user", "add", "frank", "--role", "police", "--password-stdin").err
    stdin("")
    assert "password" in cli.refused("user", "password", "erin", "--password-stdin").err
    assert "NAME" in cli.refused("user", "disable", "nobody").err
    assert "--user" in cli.refused("token", "create", "--user", "nobody").err
    assert "--days" in cli.refused("token", "create", "--user", "erin", "--days", "0").err
    assert "--label" in cli.refused("token", "create", "--user", "erin", "--label", "x" * 101).err
    assert "ID" in cli.refused("token", "revoke", "no-such-token").err
    assert [u["name"] for u in cli.ok("user", "list", "--json").json()] == ["erin"]
    assert cli.ok("token", "list", "--json").json() == []


def test_without_a_node_the_commands_are_refused(capsys, monkeypatch, tmp_path, sqlite_url):
    from inprocess_cli import Cli, node_environment

    node_environment(monkeypatch)
    result = Cli(capsys, tmp_path / "none", sqlite_url).refused("user", "list")
    assert "no node here" in result.err
