"""What the domain reads of a signed record: the fields of an envelope, named as a Protocol.

``ledger.envelope.Envelope`` has them all. The domain names only what it reads
instead of importing the ledger, so that its rules stay free of the encoding
and can be fed by any record that carries these fields (a test's stand-in too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class SignedRecord(Protocol):
    """One signed record of any node: who recorded what, about which stream, when.

    ``occurred_on`` is business time, ``recorded_at`` recording time (DESIGN.md
    "The signed envelope"); ``hash`` is the SHA-256 of the signed bytes.
    """

    @property
    def node(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_on(self) -> int: ...
    @property
    def recorded_at(self) -> int: ...
    @property
    def authority(self) -> str: ...
    @property
    def body(self) -> Mapping[str, Any]: ...
    @property
    def hash(self) -> bytes: ...
