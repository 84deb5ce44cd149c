"""Officers and a weapon id shared by tests that need someone to act (read audit, service)."""

from __future__ import annotations

from domain.roles import Role
from nodes.accounts.officer import Officer

ANNA = Officer(user_id="8d1c6f5e-0000-4000-8000-000000000001", name="anna", role=Role.POLICE)
BERT = Officer(user_id="8d1c6f5e-0000-4000-8000-000000000002", name="bert", role=Role.AUDITOR)
WEAPON = "5b0a4c1e-1c1d-5f8e-9a7b-3c2d1e0f9a8b"
