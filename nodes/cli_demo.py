"""``armsledger demo``: a single-node walk through a weapon's life, in a temporary home.

It runs the real commands, printing each as it would be typed: a node for
Belgium, a transfer licence, a manufacture, a transfer, an export licence and
an export to the Netherlands, the seizure of a rifle with an obliterated serial,
then the pistol's history, a partial-serial search and a full ``verify``.
Keys are encrypted with ARMSLEDGER_PASSPHRASE, or with "demo" when it is unset.
The home (and its SQLite database) is deleted afterwards.

(A federated demo over Kafka replaces this one later.)
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from typing import Any

from nodes.cli_invocation import Invocation, add_command

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-000123"]
DEALER = "Armurerie Liegeoise SA"

STEPS: list[list[str]] = [
    ["init", "--state", "BE"],
    ["licence", "issue", "--number", "TL-2021-001", "--kind", "transfer_licence", "--holder", DEALER,
     "--valid-from", "2021-01-01", "--valid-until", "2030-12-31"],
    ["record", "manufacture", *PISTOL, "--type", "pistol", "--make", "FN", "--model", "Five-seveN",
     "--calibre", "5.7x28mm", "--year", "2020", "--holder", "FN Herstal", "--date", "2020-03-02"],
    ["record", "transfer", *PISTOL, "--to", DEALER, "--licence", "TL-2021-001", "--date", "2021-06-15"],
    ["licence", "issue", "--number", "EL-2023-042", "--kind", "export_licence", "--holder", DEALER,
     "--valid-from", "2023-01-01", "--valid-until", "2023-12-31", "--export-state", "BE",
     "--import-state", "NL", "--consignee", "Wapenhandel Utrecht BV", "--date", "2022-12-20"],
    ["record", "export", *PISTOL, "--licence", "EL-2023-042", "--import-authorization", "NL-IA-2023-7",
     "--to", "NL", "--date", "2023-03-10"],
    ["record", "seize", "--manufacturer", "Zastava", "--country", "RS", "--serial", "M70?12?4",
     "--type", "rifle", "--calibre", "7.62x39mm", "--place", "Antwerp", "--circumstances",
     "found in a vehicle at a border check", "--date", "2024-05-20"],
    ["history", *PISTOL],
    ["search", "--serial", "M70*"],
    ["verify"],
]


def add_commands(subparsers: Any) -> None:
    add_command(subparsers, "demo", demo,
                "walk through a weapon's life on a throwaway node (single node for now)")


def demo(run: Invocation) -> int:
    """Run ``STEPS`` against a temporary home; stop at the first failing step with its exit code."""
    from nodes.cli import run as run_command

    with tempfile.TemporaryDirectory(prefix="armsledger-demo-") as home:
        environ = {k: v for k, v in run.environ.items() if k not in ("ARMSLEDGER_HOME", "ARMSLEDGER_DB")}
        environ.setdefault("ARMSLEDGER_PASSPHRASE", "demo")
        if not environ["ARMSLEDGER_PASSPHRASE"]:
            environ["ARMSLEDGER_PASSPHRASE"] = "demo"
        run.out.write(f"# a throwaway node in {home}\n")
        for step in STEPS:
            run.out.write(f"\n$ armsledger {shlex.join(step)}\n")
            run.out.flush()
            code = run_command(["--home", home, *step], environ)
            sys.stdout.flush()
            if code != 0:
                run.warn(f"armsledger demo: step failed with exit code {code}: armsledger {shlex.join(step)}")
                return code
    run.out.write("\ndemo finished: every record above is signed, chained and covered by a checkpoint\n")
    return 0
