"""Point of diversion: where a weapon left legal custody, read from its federated lifecycle.

``analyse`` returns a ``Verdict``; the rules are explained in docs/diversion.md.
"""

from domain.diversion.analysis import analyse
from domain.diversion.verdict import Custodian, Evidence, Missing, Rule, Verdict

__all__ = ["Custodian", "Evidence", "Missing", "Rule", "Verdict", "analyse"]
