"""Groups of records that are one customer, from scored pairs.

A union-find over the pairs at or above a threshold, so that weak links never chain
records together, with groups that are too large or too sparse split again at a higher
threshold.
"""

from collections.abc import Iterable

import numpy as np

from .matcher import ScoredPair


def clusters(
    pairs: Iterable,
    threshold: float,
    *,
    max_size: int | None = 50,
    min_density: float | None = None,
) -> list[list[int]]:
    """Groups of records that are one customer: connected components of the pairs at or
    above `threshold` (a probability).

    Only pairs above the threshold link records, so weak links do not chain. A component
    larger than `max_size`, or with fewer than `min_density` of its possible pairs above the
    threshold, is split by raising the threshold for its pairs one bit (×2 odds) at a time.
    `pairs` holds ScoredPair objects or (left, right, probability[, weight]) tuples. Returns
    the groups of two or more records, each sorted, largest first.
    """
    edges = []
    for pair in pairs:
        if isinstance(pair, ScoredPair):
            edges.append((pair.left, pair.right, pair.weight))
        else:
            left, right, probability, *rest = pair
            weight = rest[0] if rest else _weight(probability)
            edges.append((left, right, weight))
    limit = _weight(threshold)
    groups = _components([e for e in edges if e[2] >= limit])
    out = []
    while groups:
        members, group_edges, floor = groups.pop()
        too_big = max_size is not None and len(members) > max_size
        possible = len(members) * (len(members) - 1) / 2
        sparse = min_density is not None and len(group_edges) < min_density * possible
        if too_big or sparse:
            floor = max(floor, limit) + 1.0
            kept = [e for e in group_edges if e[2] >= floor]
            groups += [(m, ge, floor) for m, ge, _ in _components(kept)]
            continue
        out.append(sorted(members))
    out.sort(key=lambda g: (-len(g), g))
    return out


def _weight(probability: float) -> float:
    probability = min(max(probability, 1e-300), 1 - 1e-16)
    return float(np.log2(probability / (1 - probability)))


def _components(edges):
    """Connected components (members, edges, −inf) of a list of (left, right, weight)."""
    parent: dict = {}

    def find(x):
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for left, right, *_weight in edges:
        a, b = find(left), find(right)
        if a != b:
            parent[a] = b
    members: dict = {}
    for node in parent:
        members.setdefault(find(node), []).append(node)
    group_edges: dict = {}
    for edge in edges:
        group_edges.setdefault(find(edge[0]), []).append(edge)
    return [(m, group_edges.get(root, []), -np.inf) for root, m in members.items() if len(m) > 1]
