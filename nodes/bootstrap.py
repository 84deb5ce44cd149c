"""Wires a node from settings: identity, registry, sealer and projections.

Nothing is constructed at import time; the CLI, the tests and the benchmarks all
start here, so whatever the CLI can do is possible from Python::

    node = open_node(Settings.load())
    weapon_id = node.registry.manufacture(...)
    node.settle()          # seal a checkpoint and bring the projections up to date
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from domain.countries import ISO_3166_ALPHA2
from domain.errors import InvalidField
from nodes.errors import ConfigurationError
from nodes.persons.kek import load_or_create_kek
from nodes.registry.application import Registry
from nodes.registry.identity import NodeIdentity, create_identity, load_identity
from nodes.registry.own_records import check_identity
from nodes.settings import Settings

if TYPE_CHECKING:
    from nodes import ports
    from nodes.registry.sealer import Sealer
    from projections.views import Views


@dataclass
class Node:
    settings: Settings
    identity: NodeIdentity
    registry: Registry
    _closed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        # Exports check the partners' authorizations received (FP art 10(2)-(3)); the
        # check reads the inbox, so the node, not the domain, provides it.
        from nodes.alerts.hits import MissingReports
        from nodes.federation.crossborder import ExportAuthorizations

        self.registry.export_check = ExportAuthorizations(self)
        # Seizures and imports check the partners' loss and theft reports received (hit notices).
        self.registry.reported_missing = MissingReports(self)

    # Opened on first use, imported there: most commands need none of them.

    @cached_property
    def views(self) -> Views:
        from nodes.registry.storage import eventsourcing_env
        from nodes.workers import start_pool
        from projections.views import Views

        # The registry's records are read from its log, not copied into the views.
        views = Views.open(eventsourcing_env(self.settings.db), own_log=self.registry.name)
        views.start_workers = start_pool  # a rebuild of a large SQLite log makes its rows on them
        return views

    @cached_property
    def sealer(self) -> Sealer:
        from nodes.registry.sealed_mark import SealedMark
        from nodes.registry.sealer import Sealer

        mark = SealedMark(self.settings.home, self.identity.node_keys, self.identity.state)
        return Sealer(self.registry, self.identity, mark=mark)

    @cached_property
    def inbox(self) -> ports.Inbox:
        """The node's inbox (``nodes.federation.inbox.Inbox``; unit tests put a stand-in here)."""
        from nodes.federation.inbox import Inbox

        return Inbox.open(self.settings.db)

    def settle(self) -> None:
        """After writes: sign a checkpoint over the log, then update the projections."""
        if self.identity.private_keys:
            self.sealer.seal()
        self.views.catch_up(self.registry)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if "views" in self.__dict__:
            self.views.close()
        if "inbox" in self.__dict__:
            self.inbox.close()
        self.registry.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_node(settings: Settings, *, unlock: bool = True) -> Node:
    """Open the node at ``settings.home``; ``unlock`` loads the private keys (needs the passphrase).

    Unlocked, node.json must agree with the node's own log (``check_identity``): else
    ``NodeFileDamaged``, before anything is written.
    """
    if unlock and not settings.passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it unlocks the node's signing keys")
    identity = load_identity(settings.home, settings.passphrase if unlock else None)
    node = Node(settings, identity, Registry(settings.db, identity))
    if unlock:
        # A node opened to sign signs as what its own log certifies, or not at all:
        # a node.json with another state or keys would write records the log disowns.
        try:
            check_identity(node.registry, identity)
        except BaseException:
            node.close()
            raise
    return node


def init_node(settings: Settings, state: str) -> Node:
    """Create a node for ``state``: keys on disk, authority certificates in the log.

    Refuses to overwrite an existing node (``NodeExists``), and a home that is no
    writable directory (``ConfigurationError``).
    """
    state = (state or "").strip().upper()
    if state not in ISO_3166_ALPHA2:
        raise InvalidField(f"{state!r} is not an ISO 3166-1 alpha-2 country code", field="state")
    if not settings.passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it encrypts the node's private keys")
    # The home holds keys, node.json and (by default) the log with holders' names: owner only.
    try:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings.home.chmod(0o700)
        identity, public_keys = create_identity(settings.home, state, settings.passphrase,
                                                  cost=settings.kek_cost)
        load_or_create_kek(settings)  # the key of private holders' identities (nodes.persons.kek)
    except OSError as e:
        raise ConfigurationError(f"--home {settings.home}: cannot create a node there: "
                                 f"{e.strerror or e}") from None
    node = Node(settings, identity, Registry(settings.db, identity))
    node.registry.certify_authorities(public_keys, int(time.time()))
    return node
