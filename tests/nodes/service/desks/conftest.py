"""Fixtures of the desk tests: a real node behind the desks, a signed-in client, weapons on record."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from desk_app import DeskTestContext, desk_app, open_desk_node


@pytest.fixture
def desk_context(tmp_path, db_url):
    node = open_desk_node(tmp_path / "home", db_url)
    context = DeskTestContext(node)
    try:
        yield context
    finally:
        context.close()
        node.close()


@pytest.fixture
def client(desk_context):
    with TestClient(desk_app(desk_context)) as client:
        yield client
    # A job a test started (an import, a verification) ends before the node is closed under it.
    assert client.app.state.desk_jobs.wait(120)
