"""A node's HTTP service in process: the app over a real node (SQLite, or PostgreSQL where a
test takes ``db_url``), with one officer per role (``tests/support/fixed_directory.py``) and a
read audit kept in a list, driven by FastAPI's TestClient."""

from __future__ import annotations

import pytest
from cheap_kek import KEK_ENVIRON
from fastapi.testclient import TestClient

from nodes.bootstrap import init_node
from nodes.service.app import create_app
from nodes.service.context import ServiceContext
from nodes.settings import Settings

from service_story import service_of


@pytest.fixture
def node(tmp_path, sqlite_url):
    node = init_node(Settings.load(environ=KEK_ENVIRON, home=tmp_path / "be", db=sqlite_url, passphrase="pw"), "BE")
    yield node
    node.close()


@pytest.fixture
def context(node) -> ServiceContext:
    context = service_of(node)
    yield context
    context.read_audit.close()


@pytest.fixture
def client(context) -> TestClient:
    with TestClient(create_app(context, desks=False)) as client:
        yield client


@pytest.fixture
def backend_client(tmp_path, db_url):
    """A client and the service of a node on each backend in turn (SQLite, then PostgreSQL), writing
    through the group committer as ``armsledger serve`` does."""
    node = init_node(Settings.load(environ=KEK_ENVIRON, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    context = service_of(node, group_commit=True)
    with TestClient(create_app(context, desks=False)) as client:
        yield client, context
    context.committer.close()
    context.read_audit.close()
    node.close()
