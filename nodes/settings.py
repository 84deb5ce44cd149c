"""Settings, read once from the environment (and command-line overrides) into a frozen object.

=====================  ===============================  ===========================
setting                environment                      default
=====================  ===============================  ===========================
home                   ARMSLEDGER_HOME                  ``./.armsledger``
db                     ARMSLEDGER_DB                    ``HOME/ledger.db`` (SQLite)
passphrase             ARMSLEDGER_PASSPHRASE            none: required to sign
kafka                  ARMSLEDGER_KAFKA                 none (federation off)
=====================  ===============================  ===========================

``db`` is a SQLite file path or a ``postgresql://`` URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    home: Path
    db: str
    passphrase: str = field(default="", repr=False)
    kafka: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.db.startswith(("postgresql://", "postgres://"))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); non-None ``overrides`` win."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in overrides.items() if v is not None}
        home = Path(str(given.get("home") or env.get("ARMSLEDGER_HOME") or ".armsledger"))
        db = str(given.get("db") or env.get("ARMSLEDGER_DB") or home / "ledger.db")
        return cls(
            home=home,
            db=db,
            passphrase=str(given.get("passphrase") or env.get("ARMSLEDGER_PASSPHRASE") or ""),
            kafka=str(given.get("kafka") or env.get("ARMSLEDGER_KAFKA") or ""),
        )
