"""Signing in and out, bearer tokens, and accounts for the admin, through the API.

The accounts here are the fixed stand-in (tests/support/fixed_directory.py); the rules of
real accounts (hashing, expiry, lock-out) are tested with ``nodes.accounts``.
"""

from __future__ import annotations

from domain.roles import Role
from nodes.service.auth import CSRF_HEADER, SESSION_COOKIE

from fixed_directory import password_of
from service_story import as_role, manufacture

MARK = {"mark": "S-1"}


def test_a_browser_session_writes_only_with_its_csrf_token_and_ends_on_sign_out(client):
    weapon = manufacture(client, "SESS-1")
    signed = client.post("/api/v1/session", json={"name": "licensing", "password": password_of(Role.LICENSING)})
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    csrf = signed.json()["csrf_token"]
    assert signed.json()["user"]["role"] == "licensing"

    assert client.get(f"/api/v1/weapons/{weapon}").status_code == 200
    without = client.post(f"/api/v1/weapons/{weapon}/mark", json=MARK)
    assert (without.status_code, without.json()["field"]) == (403, "csrf_token")
    wrong = client.post(f"/api/v1/weapons/{weapon}/mark", json=MARK, headers={CSRF_HEADER: "forged"})
    assert wrong.status_code == 403
    right = client.post(f"/api/v1/weapons/{weapon}/mark", json=MARK, headers={CSRF_HEADER: csrf})
    assert right.status_code == 200, right.text

    assert client.delete("/api/v1/session", headers={CSRF_HEADER: csrf}).status_code == 204
    assert client.get(f"/api/v1/weapons/{weapon}").status_code == 401


def test_a_wrong_password_is_401_and_repeated_failures_429_with_retry_after(client):
    answers = [client.post("/api/v1/session", json={"name": "police", "password": "not-the-password"})
               for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    unknown = client.post("/api/v1/session", json={"name": "nobody", "password": "whatever-it-is"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == answers[0].json()["detail"]


def test_an_api_client_trades_its_password_for_a_bearer_token(client):
    answer = client.post("/api/v1/tokens", json={"name": "customs", "password": password_of(Role.CUSTOMS),
                                                  "days": 7, "label": "scanner"})
    assert answer.status_code == 201, answer.text
    token = answer.json()["token"]
    found = client.get("/api/v1/weapons", params={"serial": "X*"}, headers={"Authorization": f"Bearer {token}"})
    assert found.status_code == 200
    too_long = client.post("/api/v1/tokens", json={"name": "customs", "password": password_of(Role.CUSTOMS),
                                                    "days": 1000})
    assert (too_long.status_code, too_long.json()["field"]) == (422, "days")


def test_the_admin_adds_a_user_who_then_signs_in(client):
    admin = as_role(Role.ADMIN)
    added = client.post("/api/v1/users", headers=admin, json={"name": "jansen", "role": "customs"})
    assert added.status_code == 201, added.text
    password = added.json()["password"]
    assert password and added.json()["user"]["role"] == "customs"
    assert client.post("/api/v1/session", json={"name": "jansen", "password": password}).status_code == 200
    assert "jansen" in [u["name"] for u in client.get("/api/v1/users", headers=admin).json()["users"]]
    taken = client.post("/api/v1/users", headers=admin, json={"name": "jansen", "role": "customs"})
    assert (taken.status_code, taken.json()["field"]) == (422, "name")
    bad_role = client.post("/api/v1/users", headers=admin, json={"name": "pieters", "role": "king"})
    assert (bad_role.status_code, bad_role.json()["field"]) == (422, "role")
