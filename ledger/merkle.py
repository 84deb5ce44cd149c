"""Merkle tree roots and proofs of RFC 9162 section 2.1 (identical to RFC 6962 section 2.1).

Everything here works on *leaf hashes* (``hashing.leaf_hash(data)``, 32 bytes
each), never on leaf data.

- ``merkle_root``, ``inclusion_proof`` and ``consistency_proof`` are pure
  functions over a sequence of leaf hashes; each call hashes the whole tree
  once (O(n)).
- ``MerkleTree`` is the append-only, in-memory version a node keeps: it caches
  the hash of every complete subtree, so appends cost O(1) hashes amortised and
  roots and proofs for any earlier size cost O(log n) to O(log^2 n) hashes.
- ``inclusion_proof_nodes`` and ``consistency_proof_nodes`` name the complete
  subtrees a proof is made of, and ``inclusion_proof_from_nodes`` and
  ``consistency_proof_from_nodes`` build it from their roots, wherever they are
  kept (a node's database: ``nodes.registry.sealer``).

The verifiers that pair with the proof builders are in ``ledger.proofs``.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice

from .hashing import EMPTY_ROOT, HASH_SIZE, NODE_PREFIX, node_hash

# MTH(D[lo:hi]) for 0 <= lo < hi, as a callable so that the pure functions
# and MerkleTree share the descent of PATH and SUBPROOF.
_SubtreeRoot = Callable[[int, int], bytes]

# A complete subtree, (height, position): the 2**height leaves from position * 2**height on.
NodeId = tuple[int, int]


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH(D_n), the root of the tree whose leaves have ``leaf_hashes``.

    Requires every element to be a 32-byte leaf hash (not checked, for speed).
    The root of the empty tree is ``EMPTY_ROOT``.
    """
    if len(leaf_hashes) == 0:
        return EMPTY_ROOT
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the audit path PATH(index, D_n) of RFC 9162 section 2.1.3.1.

    The path lists sibling hashes from the leaf up to the root, as
    ``proofs.verify_inclusion`` expects. Requires ``0 <= index < n`` with
    ``n = len(leaf_hashes)``; raises ``ValueError`` otherwise.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(
            f"leaf index {index} is outside a tree of size {size}: requires 0 <= index < size"
        )
    return _inclusion_path(index, size, lambda lo, hi: _range_root(leaf_hashes, lo, hi))


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return PROOF(size1, D_n) of RFC 9162 section 2.1.4.1.

    The proof links the tree of the first ``size1`` leaves to the whole tree.

    Requires ``0 < size1 <= n`` with ``n = len(leaf_hashes)``; raises
    ``ValueError`` otherwise. The proof is empty when ``size1 == n``. There is
    no proof from the empty tree (``ledger.proofs.verify_consistency`` rejects
    ``size1 == 0``: every tree extends it, so such a proof would prove nothing).
    """
    size2 = len(leaf_hashes)
    _check_consistency_sizes(size1, size2)
    return _consistency_path(size1, size2, lambda lo, hi: _range_root(leaf_hashes, lo, hi))


def inclusion_proof_nodes(index: int, size: int) -> list[NodeId]:
    """The complete subtrees from whose roots PATH(index, D_size) is made, in the order the path
    needs them (``inclusion_proof_from_nodes``; bottom-up, a root of the right edge as its pieces,
    largest first): O(log(size) ** 2) at most, one per path hash when ``size`` is a power of two.

    Requires ``0 <= index < size``; raises ``ValueError`` otherwise.
    """
    return inclusion_proofs_nodes([index], size)


def inclusion_proofs_nodes(indexes: Iterable[int], size: int) -> list[NodeId]:
    """``inclusion_proof_nodes`` of each of ``indexes``, each subtree once (paths of neighbouring leaves
    share most of theirs). Requires ``0 <= index < size`` for each; raises ``ValueError`` otherwise."""
    needed: list[NodeId] = []
    seen: set[NodeId] = set()
    previous = -1
    for index in indexes:
        _check_index(index, size)
        for height, sibling in _path_siblings(index, size, previous):
            for node in ((height, sibling),) if sibling >= 0 else _pieces(~sibling << height, size):
                if node not in seen:
                    seen.add(node)
                    needed.append(node)
        previous = index
    return needed


def _path_siblings(index: int, size: int, previous: int = -1, walked: list[bool] | None = None) -> Iterator[NodeId]:
    """The siblings of PATH(index, D_size), bottom-up, as (height, position): a complete subtree, or, written
    (height, ~position), the right edge of the tree from that node on (the root of leaves ``position << height``
    to ``size``, not a complete subtree). Stops where the path meets that of leaf ``previous`` (-1: none): from
    the height where both leaves have one ancestor, their siblings are the same. ``walked``, if given, gets
    for each height walked whether a sibling is there. Requires ``0 <= index < size``.

    The recursion of RFC 9162 section 2.1.3.1 unrolled level by level, as ``MerkleTree.inclusion_proofs`` walks
    it: at each height the leaf's ancestor ``position`` has a sibling unless it is the level's last node
    (``last``), carried up unpaired; a right sibling that is the level's last node is complete only when its
    leaves end within ``size``.
    """
    position, last, height = index, size - 1, 0
    while last:
        if previous >> height == position:
            return
        sibling = position ^ 1
        if walked is not None:
            walked.append(sibling <= last)
        if sibling <= last:
            yield height, sibling if sibling < last or (sibling + 1) << height <= size else ~sibling
        position >>= 1
        last >>= 1
        height += 1


def consistency_proof_nodes(size1: int, size2: int) -> list[NodeId]:
    """The complete subtrees from whose roots PROOF(size1, D_size2) is made
    (``consistency_proof_from_nodes``).

    Requires ``0 < size1 <= size2``; raises ``ValueError`` otherwise.
    """
    _check_consistency_sizes(size1, size2)
    needed: list[NodeId] = []
    _consistency_path(size1, size2, _recorded_into(needed))
    return needed


def inclusion_proof_from_nodes(index: int, size: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """PATH(index, D_size), as ``inclusion_proof`` gives it, from ``nodes``: the root of each subtree
    ``inclusion_proof_nodes(index, size)`` names.

    Whether ``nodes`` hold the roots of the tree meant is the caller's to check: verify the proof
    against a signed root (``proofs.verify_inclusion``). Requires ``0 <= index < size``
    (``ValueError`` otherwise) and every subtree named in ``nodes`` (``KeyError`` otherwise).
    """
    return inclusion_proofs_from_nodes([index], size, nodes)[0]


def inclusion_proofs_from_nodes(indexes: Iterable[int], size: int, nodes: Mapping[NodeId, bytes]) -> list[list[bytes]]:
    """``inclusion_proof_from_nodes`` of each of ``indexes``, in order, the subtree roots their paths
    share computed once (as ``MerkleTree.inclusion_proofs``). Same requirements and errors."""
    edges: dict[NodeId, bytes] = {}  # roots of the right edge (not complete subtrees), by (height, ~position)
    proofs: list[list[bytes]] = []
    # The previous leaf, its path, and per height how many of its siblings are at that height or above: where a
    # leaf's walk meets the previous leaf's (``_path_siblings``), the rest of its path is the previous one's.
    previous, previous_path, previous_above = -1, list[bytes](), [0]
    for index in indexes:
        _check_index(index, size)
        path: list[bytes] = []
        walked: list[bool] = []
        for height, sibling in _path_siblings(index, size, previous, walked):
            if sibling >= 0:
                path.append(nodes[(height, sibling)])
            else:
                edge = edges.get((height, sibling))
                if edge is None:
                    edge = edges[(height, sibling)] = _folded(
                        [nodes[node] for node in _pieces(~sibling << height, size)])
                path.append(edge)
        above = previous_above[len(walked):] or [0]  # [0]: walked to the top
        if above[0]:
            path += previous_path[-above[0]:]
        for here in reversed(walked):
            above.insert(0, above[0] + here)
        proofs.append(path)
        previous, previous_path, previous_above = index, path, above
    return proofs


def consistency_proof_from_nodes(size1: int, size2: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """PROOF(size1, D_size2), as ``consistency_proof`` gives it, from ``nodes``: the root of each
    subtree ``consistency_proof_nodes(size1, size2)`` names.

    Whether ``nodes`` hold the roots of the tree meant is the caller's to check: verify the proof
    against both signed roots (``proofs.verify_consistency``). Requires ``0 < size1 <= size2``
    (``ValueError`` otherwise) and every subtree named in ``nodes`` (``KeyError`` otherwise).
    """
    _check_consistency_sizes(size1, size2)
    return _consistency_path(size1, size2, lambda lo, hi: _folded([nodes[node] for node in _pieces(lo, hi)]))


class MerkleTree:
    """An append-only RFC 9162 Merkle tree held in memory.

    It keeps every leaf hash and, level by level, the hash of every complete
    subtree (2**level leaves starting at a multiple of 2**level), packed 32 bytes
    per node in one ``bytearray`` per level (about 64 bytes of memory per leaf).
    Any range ``[lo, hi)`` that occurs in a root or proof is a run of such
    complete subtrees, so roots and proofs for the current or any earlier size
    are computed from cached nodes without rehashing leaves.

    Roots and proofs agree byte for byte with ``merkle_root``,
    ``inclusion_proof`` and ``consistency_proof`` over the same leaf hashes.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Create a tree holding ``leaf_hashes`` (32 bytes each), in order."""
        # _levels[k][32*j : 32*(j+1)] is the hash of the complete subtree of leaves
        # [(o + j) * 2**k, (o + j + 1) * 2**k) with o = _offsets[k]: the nodes of level k
        # from the o-th on (level 0 holds the leaf hashes). Every offset is 0 unless the
        # tree was resumed from a frontier (``resume``).
        self._levels: list[bytearray] = [bytearray()]
        self._offsets: list[int] = [0]
        self._base = 0  # the size the tree was resumed at: nodes left of it are not all held
        for leaf in leaf_hashes:
            self.append(leaf)

    @classmethod
    def resume(cls, size: int, frontier: Sequence[bytes]) -> MerkleTree:
        """A tree of ``size`` leaves that holds only ``frontier``, what ``frontier(size)`` returned.

        It grows by ``append`` as a whole tree does and gives the same roots for sizes from ``size``
        on, inclusion proofs of the leaves from ``size`` on and consistency proofs from sizes of at
        least ``size``: none of them needs a node left of ``size`` other than the frontier. Anything
        else raises ``ValueError``. Whether ``frontier`` is that of the tree meant is the caller's
        to check: compare ``root()`` with a signed root of that size.

        Raises ``ValueError`` when ``frontier`` has not one 32-byte hash per set bit of ``size``.
        """
        heights = _frontier_heights(size)
        if len(frontier) != len(heights):
            raise ValueError(f"a frontier of a tree of size {size} has {len(heights)} hashes, got {len(frontier)}")
        tree = cls()
        count = max(1, size.bit_length())
        tree._levels = [bytearray() for _ in range(count)]
        tree._offsets = [size >> height for height in range(count)]
        for height, node in zip(heights, frontier):
            if len(node) != HASH_SIZE:
                raise ValueError(f"a frontier hash is {HASH_SIZE} bytes, got {len(node)}")
            tree._levels[height] += node
            tree._offsets[height] -= 1
        tree._base = size
        return tree

    def frontier(self, size: int | None = None) -> list[bytes]:
        """The roots of the complete subtrees that make up the tree of the first ``size`` leaves
        (default: all), largest first: one per set bit of ``size``, what ``resume`` takes.

        Requires ``0 <= size <= len(self)`` and, for a resumed tree, ``size`` at least the size it
        was resumed at; raises ``ValueError`` otherwise.
        """
        size = self._check_size(size)
        return [self._node(height, (size >> height) - 1) for height in _frontier_heights(size)]

    @property
    def resumed_at(self) -> int:
        """The size the tree was resumed at (``resume``), 0 for a tree that holds every node.

        Roots of sizes from it on, inclusion proofs of leaves from it on and consistency proofs
        from sizes of at least it need no node the tree lacks.
        """
        return self._base

    def leaf_hashes(self, start: int) -> Iterator[bytes]:
        """The leaf hashes from leaf ``start`` to the last one, in order (to grow another tree by them).

        Requires ``resumed_at <= start <= len(self)``; raises ``ValueError`` otherwise.
        """
        if not self._base <= start <= len(self):
            raise ValueError(
                f"no leaf hashes from leaf {start}: requires {self._base} <= start <= {len(self)}"
            )
        level = self._levels[0]
        held = (start - self._offsets[0]) * HASH_SIZE
        return (bytes(level[i : i + HASH_SIZE]) for i in range(held, len(level), HASH_SIZE))

    def __len__(self) -> int:
        """The number of leaves."""
        return self._offsets[0] + len(self._levels[0]) // HASH_SIZE

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index.

        Requires ``len(leaf_hash) == 32``; raises ``ValueError`` otherwise.
        Costs one node hash amortised (at most log2(n) in the worst case).
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        levels = self._levels
        level = levels[0]
        level += leaf_hash
        if self._base:
            return self._append_resumed()
        index = len(level) // HASH_SIZE - 1
        height = 0
        # An even number of nodes on a level means the last two now form a
        # complete subtree one level up.
        while not len(level) % (2 * HASH_SIZE):
            parent = hashlib.sha256(NODE_PREFIX + level[-2 * HASH_SIZE :]).digest()
            height += 1
            if height == len(levels):
                levels.append(bytearray())
                self._offsets.append(0)
            level = levels[height]
            level += parent
        return index

    def extend(self, leaf_hashes: bytes | bytearray | memoryview) -> None:
        """Append the leaf hashes packed in ``leaf_hashes`` (32 bytes each, in order): the same tree as
        ``append`` of each, in one pass per level instead of one call per leaf.

        Requires ``len(leaf_hashes)`` to be a multiple of 32; raises ``ValueError`` otherwise (nothing appended).
        """
        if len(leaf_hashes) % HASH_SIZE:
            raise ValueError(f"packed leaf hashes are {HASH_SIZE} bytes each, got {len(leaf_hashes)} bytes")
        levels, offsets, sha256 = self._levels, self._offsets, hashlib.sha256
        levels[0] += leaf_hashes
        height = 0
        # Each level's nodes are held from its offset on; a parent is new when both its children are held now
        # and it is not (left of a resumed tree's size, its left child is the frontier's node of that level).
        while True:
            level = levels[height]
            pairs = (offsets[height] + len(level) // HASH_SIZE) // 2
            if height + 1 == len(levels):
                if pairs == 0:
                    return
                levels.append(bytearray())
                offsets.append(0)
            parent_level = levels[height + 1]
            first = offsets[height + 1] + len(parent_level) // HASH_SIZE
            if first >= pairs:
                return
            lowest = offsets[height]
            parent_level += b"".join([
                sha256(NODE_PREFIX + level[at:at + 2 * HASH_SIZE]).digest()
                for at in range((2 * first - lowest) * HASH_SIZE, (2 * pairs - lowest) * HASH_SIZE, 2 * HASH_SIZE)])
            height += 1

    def _append_resumed(self) -> int:
        # As ``append`` with each level's count taken from its offset. A node that completes a
        # pair has its left sibling held: it is new too or it is the frontier's node of that level.
        levels, offsets = self._levels, self._offsets
        level = levels[0]
        index = offsets[0] + len(level) // HASH_SIZE - 1
        height = 0
        while not (offsets[height] + len(level) // HASH_SIZE) % 2:
            parent = hashlib.sha256(NODE_PREFIX + level[-2 * HASH_SIZE :]).digest()
            height += 1
            if height == len(levels):
                levels.append(bytearray())
                offsets.append(0)
            level = levels[height]
            level += parent
        return index

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the tree of the first ``size`` leaves (default: all).

        Requires ``0 <= size <= len(self)``; raises ``ValueError`` otherwise.
        """
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._subtree_root(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return PATH(index, D_size) of RFC 9162 section 2.1.3.1.

        The tree is that of the first ``size`` leaves (default: all).

        Requires ``0 <= index < size <= len(self)``; raises ``ValueError`` otherwise.
        """
        size = self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(
                f"leaf index {index} is outside a tree of size {size}: requires 0 <= index < size"
            )
        return _inclusion_path(index, size, self._subtree_root)

    def inclusion_proofs(self, indexes: Iterable[int], size: int | None = None) -> list[list[bytes]]:
        """Return ``inclusion_proof(index, size)`` for each of ``indexes``, in order.

        Subtree roots shared by the paths (those of the tree's right edge, which are not cached
        nodes) are computed once for all of them. Requires ``0 <= index < size <= len(self)`` for
        each; raises ``ValueError`` otherwise.
        """
        size = self._check_size(size)
        levels, offsets = self._levels, self._offsets
        edge: dict[int, bytes] = {}  # height -> the root of the tree's right edge there (not a cached node)
        # The previous leaf, its path and the height of each of its hashes: from the height where a leaf and the
        # previous one have one ancestor, their siblings are the same, so the rest of the path is copied from it
        # (neighbouring leaves walk a level or two each, not the tree's height).
        previous, previous_path, previous_heights = -1, list[bytes](), list[int]()
        proofs = []
        for index in indexes:
            _check_index(index, size)
            meet = (index ^ previous).bit_length() if previous >= 0 else size.bit_length()
            # PATH by levels, bottom-up (the recursion of RFC 9162 section 2.1.3.1 unrolled, as
            # ``_range_root`` pairs neighbours): at each height the leaf's ancestor ``position`` has a
            # sibling unless it is the level's last node (``last``), carried up unpaired. A left sibling is
            # always a complete subtree; a right one is complete unless it is the level's last node and
            # its leaves run past ``size``: then it is the root of the right edge, shared by every path.
            path: list[bytes] = []
            heights: list[int] = []
            position, last, height = index, size - 1, 0
            while last and height < meet:
                sibling = position ^ 1
                if sibling <= last:
                    if sibling < last or (sibling + 1) << height <= size:
                        start = (sibling - offsets[height]) * HASH_SIZE
                        path.append(bytes(levels[height][start : start + HASH_SIZE]) if start >= 0
                                    else self._node(height, sibling))  # raises: not held by a resumed tree
                    else:
                        root = edge.get(height)
                        if root is None:
                            root = edge[height] = self._subtree_root(sibling << height, size)
                        path.append(root)
                    heights.append(height)
                position >>= 1
                last >>= 1
                height += 1
            if last:  # stopped where this path meets the previous one
                below = bisect_left(previous_heights, meet)
                path += previous_path[below:]
                heights += previous_heights[below:]
            proofs.append(path)
            previous, previous_path, previous_heights = index, path, heights
        return proofs

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return PROOF(size1, D_size2) of RFC 9162 section 2.1.4.1 between two sizes of this tree.

        ``size2`` defaults to the current size.

        Requires ``0 < size1 <= size2 <= len(self)``; raises ``ValueError``
        otherwise. The proof is empty when ``size1 == size2``.
        """
        size2 = self._check_size(size2)
        _check_consistency_sizes(size1, size2)
        return _consistency_path(size1, size2, self._subtree_root)

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return len(self)
        if not 0 <= size <= len(self):
            raise ValueError(
                f"tree size {size} is not one this tree has had: requires 0 <= size <= {len(self)}"
            )
        return size

    def held_node(self, height: int, position: int) -> bytes | None:
        """The root of the complete subtree ``(height, position)`` (``NodeId``), or None when the tree
        does not hold it: not complete yet, or left of the size a resumed tree was resumed at and not
        in its frontier."""
        if not 0 <= height < len(self._levels):
            return None
        held = position - self._offsets[height]
        start = held * HASH_SIZE
        if held < 0 or start >= len(self._levels[height]):
            return None
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def _node(self, height: int, position: int) -> bytes:
        held = position - self._offsets[height]
        if held < 0:
            raise ValueError(
                f"the tree was resumed at size {self._base} and holds no node for leaves "
                f"{position << height} to {((position + 1) << height) - 1} (only what proofs from size "
                f"{self._base} on need)"
            )
        start = held * HASH_SIZE
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def _subtree_root(self, lo: int, hi: int) -> bytes:
        return _folded([self._node(height, position) for height, position in _pieces(lo, hi)])


def _pieces(lo: int, hi: int) -> Iterator[NodeId]:
    """The complete subtrees [lo, hi) is cut into, largest first (a range PATH or SUBPROOF visits)."""
    while lo < hi:
        height = (hi - lo).bit_length() - 1
        # Holds for every range PATH and SUBPROOF visit: the left end of a
        # subtree is a multiple of its left child's size.
        assert lo % (1 << height) == 0, (lo, hi)
        yield height, lo >> height
        lo += 1 << height


def _folded(roots: list[bytes]) -> bytes:
    """MTH of a range from the roots of its ``_pieces``: by RFC 9162 section 2.1.1 (split at the
    largest power of two below the size) they fold together from the right."""
    root = roots.pop()
    while roots:
        root = node_hash(roots.pop(), root)
    return root


def _recorded_into(needed: list[NodeId]) -> _SubtreeRoot:
    """A subtree root that only records the pieces of each range asked (a proof's shape does not
    depend on the hashes), each once, in order."""
    ranges: set[tuple[int, int]] = set()
    seen: set[NodeId] = set()

    def record(lo: int, hi: int) -> bytes:
        if (lo, hi) not in ranges:
            ranges.add((lo, hi))
            for node in _pieces(lo, hi):
                if node not in seen:
                    seen.add(node)
                    needed.append(node)
        return b""

    return record


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ValueError(
            f"leaf index {index} is outside a tree of size {size}: requires 0 <= index < size"
        )


def _frontier_heights(size: int) -> list[int]:
    """The heights of the complete subtrees that make up a tree of ``size`` leaves, largest first."""
    if size < 0:
        raise ValueError(f"a tree size is at least 0, got {size}")
    return [height for height in reversed(range(size.bit_length())) if size >> height & 1]


def _check_consistency_sizes(size1: int, size2: int) -> None:
    if not 0 < size1 <= size2:
        raise ValueError(
            f"no consistency proof from size {size1} to size {size2}: requires 0 < size1 <= size2"
        )


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (k in RFC 9162 section 2.1.1); requires n >= 2."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for 0 <= lo < hi <= len(leaf_hashes), computed level by level."""
    # Pairing neighbours level by level and carrying an unpaired last node up
    # unchanged gives exactly the MTH of RFC 9162 section 2.1.1: the subtree
    # boundaries of the recursive definition are the pairings at each level.
    sha256 = hashlib.sha256
    prefix = NODE_PREFIX
    nodes: Iterator[bytes] = islice(leaf_hashes, lo, hi)
    count = hi - lo
    last = leaf_hashes[hi - 1]
    while count > 1:
        level = [sha256(prefix + left + right).digest() for left, right in zip(nodes, nodes)]
        if count % 2:
            level.append(last)
        count = len(level)
        last = level[-1]
        nodes = iter(level)
    return bytes(last)


def _inclusion_path(index: int, size: int, subtree_root: _SubtreeRoot) -> list[bytes]:
    # RFC 9162 section 2.1.3.1, with k the largest power of two below n:
    #   PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
    #   PATH(m, D_n) = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
    # Walking down from the root finds the siblings top-down; the path lists
    # them bottom-up.
    siblings = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            siblings.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            siblings.append(subtree_root(lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def _consistency_path(size1: int, size2: int, subtree_root: _SubtreeRoot) -> list[bytes]:
    # RFC 9162 section 2.1.4.1: PROOF(m, D_n) = SUBPROOF(m, D_n, true), where
    #   SUBPROOF(m, D_m, true)  = {}
    #   SUBPROOF(m, D_m, false) = {MTH(D_m)}
    #   SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
    #   SUBPROOF(m, D_n, b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
    # As for PATH, the nodes are found top-down and listed bottom-up.
    nodes = []
    lo, hi = 0, size2
    old_tree_is_whole_subtree = True  # the flag b
    while size1 != hi:
        k = _split(hi - lo)
        if size1 - lo <= k:
            nodes.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            nodes.append(subtree_root(lo, lo + k))
            lo += k
            old_tree_is_whole_subtree = False
    if not old_tree_is_whole_subtree:
        nodes.append(subtree_root(lo, hi))
    nodes.reverse()
    return nodes
