"""Disjoint sets of ids (union-find): how events sharing an id become one call.

The analysis links channels into calls with it (:mod:`amikit.analysis`), and the simulator's
template extraction groups a capture's events into calls the same way
(:mod:`amikit.sim._extract`); both sit above this module, so there is one implementation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["UnionFind"]


class UnionFind:
    """Disjoint sets over hashable ids, with path halving; ``first`` orders the roots.

    The root of a set is the member added first, so a set's representative is stable
    as sets merge (the older call absorbs the newer one).
    """

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}
        self.order: dict[Any, int] = {}

    def add(self, item: Any) -> None:
        if item not in self.parent:
            self.parent[item] = item
            self.order[item] = len(self.order)

    def find(self, item: Any) -> Any:
        parent = self.parent
        if item not in parent:
            self.add(item)
            return item
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: Any, b: Any) -> tuple[Any, Any]:
        """Merge the sets of ``a`` and ``b``; returns ``(kept_root, absorbed_root)``."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra, rb
        if self.order[rb] < self.order[ra]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra, rb

    def union_all(self, edges: Iterable[tuple[Any, Any]]) -> None:
        for a, b in edges:
            self.union(a, b)
