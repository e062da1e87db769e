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

from collections.abc import Callable, Hashable, Mapping, Sequence
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


def count_cost(key: Hashable, numerators: Mapping, denominators: Mapping) -> tuple:
    """Default order for extra masks: the smallest positive count first, zeros last.

    A masked zero protects little (a count cannot be negative), so it is chosen only when
    nothing else will do.
    """
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


def _mask_one_more(relation: Relation, present: set, masked: dict, cost) -> bool:
    children = [c for c in relation.children if c in present]
    candidates = [c for c in children if c not in masked]
    if candidates:
        masked[min(candidates, key=cost)] = SECONDARY
        return True
    if relation.parent in present and relation.parent not in masked:
        masked[relation.parent] = SECONDARY
        return True
    return False


class LinearAudit:
    """The relations as one linear system, to find masked cells the published ones determine.

    Each relation with a present total is a row (+1 per child, -1 for the total). With the
    published cells moved to the right-hand side, a masked cell is determined exactly when
    its column is zero in every null-space vector of the masked columns.
    """

    def __init__(self, relations: Sequence[Relation], present: set):
        self.cells = sorted(present, key=str)
        self.index = {c: i for i, c in enumerate(self.cells)}
        rows = []
        for rel in relations:
            if rel.parent not in present:
                continue
            row = np.zeros(len(self.cells))
            row[self.index[rel.parent]] -= 1.0
            for child in rel.children:
                if child in self.index:
                    row[self.index[child]] += 1.0
            rows.append(row)
        self.matrix = np.array(rows) if rows else np.zeros((0, len(self.cells)))
        self._children_only = {c for c in self.cells if not any(rel.parent == c for rel in relations)}
        self.neighbours = {
            c: {m for rel in relations if rel.parent in present and c in (rel.parent, *rel.children)
                for m in (rel.parent, *rel.children) if m in present}
            for c in self.cells
        }

    def determined(self, masked) -> list[Hashable]:
        unknown = [self.index[m] for m in masked if m in self.index]
        if not unknown:
            return []
        sub = self.matrix[:, unknown]
        sub = sub[np.abs(sub).sum(axis=1) > 0]
        if sub.shape[0] == 0:
            return []
        _, singular, vt = np.linalg.svd(sub)
        null_space = vt[int((singular > 1e-9).sum()):]
        if null_space.shape[0] == 0:
            return [self.cells[i] for i in unknown]
        weight = np.abs(null_space).max(axis=0)
        return [self.cells[unknown[j]] for j in range(len(unknown)) if weight[j] < 1e-9]

    def cover(self, cell: Hashable, masked, order: Callable[[Hashable], tuple]) -> list[Hashable]:
        """Published cells to hide so that ``cell`` is no longer determined, cheapest first.

        The derivations of the cell are the combinations y of relations with
        y' A_masked = e_cell: y0 + N z, N spanning the left null space of A_masked. Hiding a
        published cell with column a breaks them all when no derivation gives it weight
        zero: N' a = 0 and y0' a != 0. Two cells a, b break them all when the system
        (N' a) z = -y0' a, (N' b) z = -y0' b has no solution. One cell is tried first; a
        kommune alone in its helsefellesskap-fylke overlap (Bindal) is a difference of
        totals and needs two totals hidden.
        """
        masked = set(masked)
        unknown = [self.index[m] for m in masked if m in self.index]
        published = [i for i in range(len(self.cells)) if self.cells[i] not in masked]
        if not published:
            return []
        sub = self.matrix[:, unknown]
        target = np.zeros(len(unknown))
        target[unknown.index(self.index[cell])] = 1.0
        y0, *_ = np.linalg.lstsq(sub.T, target, rcond=None)
        _, singular, vt = np.linalg.svd(sub.T)
        null = vt[int((singular > 1e-9).sum()):]  # rows span the left null space of sub
        columns = self.matrix[:, published]
        weight_null = null @ columns if null.size else np.zeros((0, len(published)))
        weight_y0 = y0 @ columns
        by_cost = sorted(range(len(published)), key=lambda j: order(self.cells[published[j]]))
        for j in by_cost:
            if np.abs(weight_null[:, j]).max(initial=0.0) < 1e-9 and abs(weight_y0[j]) > 1e-9:
                return [self.cells[published[j]]]
        totals = [j for j in by_cost if len(self.neighbours[self.cells[published[j]]]) > 1
                  and self.cells[published[j]] not in self._children_only][:40]
        for a_pos, a in enumerate(totals):
            for b in totals[a_pos + 1:]:
                system = np.vstack([weight_null[:, a], weight_null[:, b]])
                rhs = -np.array([weight_y0[a], weight_y0[b]])
                augmented = np.column_stack([system, rhs])
                if np.linalg.matrix_rank(augmented, tol=1e-9) > np.linalg.matrix_rank(system, tol=1e-9):
                    return [self.cells[published[a]], self.cells[published[b]]]
        return [self.cells[published[by_cost[0]]]]


def derivable_cells(masked: Sequence[Hashable], relations: Sequence[Relation], present: set) -> list[Hashable]:
    """Masked cells whose value follows from the published cells through the relations."""
    return LinearAudit(relations, present).determined(masked)


def suppress(
    numerators: Mapping[Hashable, float],
    denominators: Mapping[Hashable, float],
    relations: Sequence[Relation],
    threshold: int,
    protect_denominator: bool,
    forced: Sequence[Hashable] = (),
    cost: Callable[[Hashable, Mapping, Mapping], tuple] = count_cost,
) -> dict[Hashable, str]:
    """Masked cells and why. Cells missing from ``numerators`` (not reported) take no part.

    1. primary: small counts (and forced cells);
    2. per relation: no relation with a published total may have exactly one masked member,
       or masked members holding fewer than ``threshold`` events together;
    3. audit: while a masked cell is still determined by the published cells, hide the
       cheapest published cell (or pair of totals) that leaves it undetermined, and go back
       to step 2.

    ``cost(key, numerators, denominators)`` orders the candidates for extra masks (lowest
    first); the engine prefers kommuner over the totals users read most.
    """
    present = set(numerators)
    order = lambda key: cost(key, numerators, denominators)  # noqa: E731
    masked = primary_suppression(numerators, denominators, threshold, protect_denominator)
    for key in forced:
        if key in present:
            masked.setdefault(key, FORCED)
    if not masked:
        return masked
    audit = None
    while True:
        changed = True
        while changed:
            changed = False
            for rel in relations:
                if rel.parent not in present or rel.parent in masked:
                    continue
                members = [c for c in rel.children if c in masked and c in present]
                if members and _relation_exposed(members, numerators, denominators, threshold, protect_denominator):
                    changed |= _mask_one_more(rel, present, masked, order)
        audit = audit or LinearAudit(relations, present)
        exposed = audit.determined(masked)
        if not exposed:
            return masked
        cover = audit.cover(exposed[0], masked, order)
        if not cover:
            return masked  # nothing left to hide around it
        for cell in cover:
            masked[cell] = SECONDARY
