"""Proofs on demand and evidence bundles: a weapon's records with their RFC 9162 proofs, for a
court or a state without a node (docs/evidence.md)."""
