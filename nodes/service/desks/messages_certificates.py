"""The desks' words for deactivation certificates and reactivation (docs/deactivation.md)."""

from __future__ import annotations

CERTIFICATE_ENGLISH: dict[str, str] = {
    "kind.reactivation_licence": "Reactivation licence",
}
