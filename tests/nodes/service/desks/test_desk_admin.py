"""The admin desk over HTTP: accounts and tokens through the accounts' contract, secrets shown once."""

from __future__ import annotations

from domain.roles import Role

from desk_app import PASSWORD
from desk_steps import form_token, sign_in


def test_only_the_admin_role_reaches_the_admin_desk(client):
    sign_in(client, "lena")
    response = client.get("/admin")
    assert response.status_code == 403 and "the licensing role lacks the right to admin" in response.text
    assert client.post("/admin/users", data={"name": "x"}).status_code == 403


def test_admin_lists_accounts_and_adds_one_with_a_password_shown_once(client, desk_context):
    csrf = sign_in(client, "ada")
    page = client.get("/admin")
    assert page.status_code == 200 and "<td>lena</td>" in page.text
    response = client.post("/admin/users", data={"csrf_token": csrf, "name": "nora", "user_role": "customs"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    added = desk_context.accounts.user("nora")
    assert added.role is Role.CUSTOMS and f'<code class="secret">{added.password}</code>' in response.text
    assert added.password not in client.get("/admin").text     # never shown again


def test_a_form_without_the_csrf_token_changes_nothing(client, desk_context):
    sign_in(client, "ada")
    response = client.post("/admin/users/lena/disable", data={})
    assert response.status_code == 403
    assert desk_context.accounts.user("lena").enabled


def test_disable_enable_role_and_password_change_the_account(client, desk_context):
    csrf = sign_in(client, "ada")
    accounts = desk_context.accounts
    assert client.post("/admin/users/paul/disable", data={"csrf_token": csrf}, follow_redirects=False
                       ).headers["location"] == "/admin"
    assert not accounts.user("paul").enabled and "Disabled" in client.get("/admin").text
    client.post("/admin/users/paul/enable", data={"csrf_token": csrf})
    client.post("/admin/users/paul/role", data={"csrf_token": csrf, "user_role": "tracing"})
    client.post("/admin/users/paul/password", data={"csrf_token": csrf, "password": "a new long secret"})
    paul = accounts.user("paul")
    assert paul.enabled and paul.role is Role.TRACING and paul.password == "a new long secret"


def test_refused_changes_name_their_field(client, desk_context):
    csrf = sign_in(client, "ada")
    taken = client.post("/admin/users", data={"csrf_token": csrf, "name": "lena", "user_role": "police"})
    assert taken.status_code == 422 and 'href="#f-name"' in taken.text
    short = client.post("/admin/users/lena/password", data={"csrf_token": csrf, "password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert desk_context.accounts.user("lena").password == PASSWORD
    role = client.post("/admin/users", data={"csrf_token": csrf, "name": "zed", "user_role": "king"})
    assert role.status_code == 422 and 'href="#f-user_role"' in role.text
    assert "zed" not in desk_context.accounts.accounts
    days = client.post("/admin/tokens", data={"csrf_token": csrf, "user": "lena", "days": "-3"})
    assert days.status_code == 422 and 'href="#f-days"' in days.text and desk_context.accounts.tokens() == []


def test_a_token_is_shown_once_listed_by_id_and_revoked(client, desk_context):
    csrf = sign_in(client, "ada")
    response = client.post("/admin/tokens", data={"csrf_token": csrf, "user": "lena", "days": "7", "label": "ci"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    [token] = desk_context.accounts.tokens()
    assert token.label == "ci" and f"<code>{token.token_id}</code>" in response.text
    secret = response.text.split('<code class="secret">')[1].split("</code>")[0]
    assert secret.startswith("alt_") and secret not in client.get("/admin").text
    client.post(f"/admin/tokens/{token.token_id}/revoke", data={"csrf_token": form_token(client.get("/admin").text)})
    assert desk_context.accounts.tokens()[0].revoked_at is not None
    page = client.get("/admin").text
    assert "Revoked" in page and f'action="/admin/tokens/{token.token_id}/revoke"' not in page
