"""Stolen-weapon hits and the alerts they raise (docs/alerts.md)."""
