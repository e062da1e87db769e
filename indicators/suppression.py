"""Primary and secondary suppression of small counts over a hierarchy of areas.

Every published table is a set of cells (area × period) linked by additive relations:
a helsefellesskap is the sum of its kommuner, a fylke the sum of its kommuner, the country
the sum of the RHF and of the fylker. A cell is masked when

- its count is below the threshold (primary suppression, ``small_count``), or the caller
  forces it (``forced``, e.g. the temporal rule for pooled periods);
- it must hide another masked cell (secondary suppression, ``secondary``): no relation may
  have exactly one masked member, the masked members of a relation must together hold
  at least ``threshold`` events, and finally no masked cell may be determined by the linear
  system of published totals (checked exactly through the null space of the relations).

The functions are pure: plain dicts in, a dict of reasons out.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SMALL_COUNT = "small_count"
SECONDARY = "secondary"
FORCED = "forced"


@dataclass(frozen=True)
class Relation:
    """``parent`` equals the sum of ``children``."""

    parent: Hashable
    children: tuple[Hashable, ...]


def primary_suppression(
    numerators: Mapping[Hashable, float],
    denominators: Mapping[Hashable, float],
    threshold: int,
    protect_denominator: bool,
) -> dict[Hashable, str]:
    """Cells whose count (or sensitive denominator) is above zero and below ``threshold``."""
    masked = {}
    for key, num in numerators.items():
        den = denominators.get(key, 0.0)
        if 0 < num < threshold or (protect_denominator and 0 < den < threshold):
            masked[key] = SMALL_COUNT
    return masked


def _sort_key(key: Hashable, numerators: Mapping, denominators: Mapping) -> tuple:
    num = numerators[key]
    return (num == 0, num, denominators.get(key, 0.0), str(key))


def _relation_exposed(masked_members: list, numerators: Mapping, denominators: Mapping, threshold: int, protect_denominator: bool) -> bool:
    if len(masked_members) == 1:
        return True
    total = sum(numerators[c] for c in masked_members)
    if 0 < total < threshold:
        return True
    if protect_denominator:
        total_den = sum(denominators.get(c, 0.0) for c in masked_members)
        if 0 < total_den < threshold:
            return True
    return False


def _mask_one_more(relation: Relation, present: set, masked: dict, numerators: Mapping, denominators: Mapping) -> bool:
    children = [c for c in relation.children if c in present]
    candidates = [c for c in children if c not in masked]
    if candidates:
        masked[min(candidates, key=lambda c: _sort_key(c, numerators, denominators))] = SECONDARY
        return True
    if relation.parent in present and relation.parent not in masked:
        masked[relation.parent] = SECONDARY
        return True
    return False


def derivable_cells(masked: Sequence[Hashable], relations: Sequence[Relation], present: set) -> list[Hashable]:
    """Masked cells whose value follows from the published cells through the relations.

    Each relation gives one linear equation; with the published cells moved to the right-hand
    side, a masked cell is determined exactly when every solution of the homogeneous system
    gives it zero, i.e. its column is zero in a basis of the null space.
    """
    unknown = [m for m in masked if m in present]
    if not unknown:
        return []
    index = {k: i for i, k in enumerate(unknown)}
    rows = []
    for rel in relations:
        if rel.parent not in present:
            continue
        row = np.zeros(len(unknown))
        if rel.parent in index:
            row[index[rel.parent]] -= 1.0
        for child in rel.children:
            if child in index:
                row[index[child]] += 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    if null_space.shape[0] == 0:
        return list(unknown)
    weight = np.abs(null_space).max(axis=0)
    return [unknown[i] for i in range(len(unknown)) if weight[i] < 1e-9]


def suppress(
    numerators: Mapping[Hashable, float],
    denominators: Mapping[Hashable, float],
    relations: Sequence[Relation],
    threshold: int,
    protect_denominator: bool,
    forced: Sequence[Hashable] = (),
) -> dict[Hashable, str]:
    """Masked cells and why. Cells missing from ``numerators`` (not reported) take no part."""
    present = set(numerators)
    masked = primary_suppression(numerators, denominators, threshold, protect_denominator)
    for key in forced:
        if key in present:
            masked.setdefault(key, FORCED)
    if not masked:
        return masked
    while True:
        changed = True
        while changed:
            changed = False
            for rel in relations:
                if rel.parent not in present or rel.parent in masked:
                    continue
                members = [c for c in rel.children if c in masked and c in present]
                if members and _relation_exposed(members, numerators, denominators, threshold, protect_denominator):
                    changed |= _mask_one_more(rel, present, masked, numerators, denominators)
        exposed = derivable_cells(list(masked), relations, present)
        if not exposed:
            return masked
        # Hide one more member of a relation around each exposed cell, then check again.
        progressed = False
        for cell in exposed:
            for rel in relations:
                if (cell in rel.children or cell == rel.parent) and _mask_one_more(rel, present, masked, numerators, denominators):
                    progressed = True
                    break
        if not progressed:
            # The exposure runs through relations that do not hold the cell itself (e.g. a
            # masked fylke equal to a published helsefellesskap over the same kommuner):
            # hide the smallest published cell that shares a relation with a masked one.
            neighbours = {
                member
                for rel in relations
                if any(m in masked for m in (rel.parent, *rel.children))
                for member in (rel.parent, *rel.children)
                if member in present and member not in masked
            }
            if not neighbours:
                return masked
            masked[min(neighbours, key=lambda c: _sort_key(c, numerators, denominators))] = SECONDARY
