"""schemathesis against the service's own /openapi.json, in process: whatever a client sends
within or around the documented shapes, no answer is a 5xx and none contradicts the document.

Each operation is called as an officer whose role may use it (else most examples would stop
at 403), with a bounded number of examples per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from domain.roles import Role
from nodes.bootstrap import init_node
from nodes.service.app import create_app
from nodes.settings import Settings

from service_story import as_role, manufacture, service_of

EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

_WEAPON_EVENTS = {"report-stolen": Role.POLICE, "recover": Role.POLICE, "confiscate": Role.POLICE,
                  "seize": Role.POLICE, "deactivate": Role.DEACTIVATION, "destroy": Role.DEACTIVATION}


def role_for(method: str, path: str) -> Role:
    """An officer whose role may use the operation."""
    parts = path.removeprefix("/api/v1/").split("/")
    if parts[0] == "users":
        return Role.ADMIN
    if parts[0] in ("node", "audit", "statistics"):
        return Role.AUDITOR
    if method == "GET":
        return Role.POLICE
    if parts[0] == "traces":
        return Role.TRACING if parts[-1] in ("traces", "close") or len(parts) == 1 else Role.REGISTRY
    if parts[0] == "shipments":
        return Role.CUSTOMS
    if parts[0] == "weapons":
        return _WEAPON_EVENTS.get(parts[-1], Role.CUSTOMS if parts[-1] == "import" else Role.LICENSING)
    return Role.LICENSING


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    home = tmp_path_factory.mktemp("schema")
    node = init_node(Settings.load(environ={}, home=home / "be", db=str(home / "ledger.db"), passphrase="pw"), "BE")
    app = create_app(service_of(node), desks=False)
    with TestClient(app) as client:
        manufacture(client, "SCHEMA-1")  # something to read
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    node.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_ends_in_5xx_or_off_the_document(api_schema, mode):
    # schemathesis's own pytest integration does not run under pytest 9 (it reads Function._nodeid):
    # each operation's strategy is driven by hypothesis here instead.
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        headers = as_role(role_for(operation.method.upper(), operation.path))

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without parameters has no invalid input
        except (Exception, BaseExceptionGroup) as e:  # every operation's failure is reported together
            failures.append(f"{operation.label}: {type(e).__name__}: {str(e)[:600]}")
    assert not failures, "\n\n".join(failures)
