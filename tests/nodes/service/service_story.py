"""What the service tests share: a service over a node with one officer per role, and requests
that make a weapon or issue a licence through the API."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from domain.roles import Role
from domain.time import SECONDS_PER_DAY as DAY, format_time
from nodes.bootstrap import Node
from nodes.readaudit.log import ReadAudit, ReadEntry
from nodes.registry.group_commit import GroupCommitter
from nodes.service.context import ServiceContext

from fixed_directory import FixedDirectory, token_of


def as_role(role: Role, purpose: str | None = None) -> dict[str, str]:
    """Headers of a request by the test officer of ``role`` (bearer token), with an optional purpose."""
    headers = {"Authorization": f"Bearer {token_of(role)}"}
    if purpose is not None:
        headers["X-Purpose"] = purpose
    return headers


def service_of(node: Node, *, group_commit: bool = False) -> ServiceContext:
    """The service over ``node`` with the node's read audit; writes one at a time, or through a
    started group committer (``group_commit``: close it with ``context.committer.close()``)."""
    committer = GroupCommitter(node) if group_commit else None
    if committer is not None:
        committer.start()
    return ServiceContext(node.settings, node, FixedDirectory.one_per_role(),
                          ReadAudit.open(node.settings.db, node.identity), committer)


def reads(context: ServiceContext) -> list[ReadEntry]:
    """Every entry of the service's read audit, oldest first."""
    return list(reversed(context.read_audit.entries(limit=10_000)))


LICENSING = as_role(Role.LICENSING)


def day(offset_days: int) -> str:
    return format_time(int(time.time()) + offset_days * DAY)[:10]


def manufacture(client: TestClient, serial: str, *, holder: str = "FN Herstal") -> str:
    answer = client.post("/api/v1/weapons/manufacture", headers=LICENSING, json={
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": serial},
        "type": "pistol", "make": "FN", "model": "Five-seveN", "calibre": "5.7x28", "year": 2020,
        "holder": holder, "date": day(-30)})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["weapon_id"])


def issue(client: TestClient, number: str, kind: str, holder: str, **fields: object) -> str:
    body = {"number": number, "kind": kind, "holder": holder, "valid_from": day(-60), "valid_until": day(30),
            "date": day(-60), **fields}
    answer = client.post("/api/v1/licences", headers=LICENSING, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["licence_id"])
