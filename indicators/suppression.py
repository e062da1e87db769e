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

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

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


def _mask_one_more(children: Sequence[Hashable], parent: Hashable, masked: dict, cost, frozen) -> Hashable | None:
    """Hide the cheapest published child of an exposed relation, or else its (published) total; return it
    (None when every published member is frozen)."""
    candidates = [c for c in children if c not in masked and c not in frozen]
    if candidates:
        cell = min(candidates, key=cost)
    elif parent not in frozen:
        cell = parent
    else:
        return None
    masked[cell] = SECONDARY
    return cell


class LinearAudit:
    """The relations as one linear system, to find masked cells the published ones determine.

    Each relation with a present total is a row (+1 per child, -1 for the total). With the
    published cells moved to the right-hand side, a masked cell is determined exactly when
    its column is zero in every null-space vector of the masked columns.

    Built once per hierarchy (relations and present cells) and reused across tables.
    """

    def __init__(self, relations: Sequence[Relation], present: set):
        self.cells = sorted(present, key=str)
        self.index = {c: i for i, c in enumerate(self.cells)}
        # Relations with a present total, their present children, in the given order.
        self.active = tuple(
            (rel.parent, tuple(c for c in rel.children if c in self.index)) for rel in relations if rel.parent in self.index
        )
        self.relations_of: dict[Hashable, list[int]] = {c: [] for c in self.cells}  # rows a cell takes part in
        rows, columns, values = [], [], []
        for row, (parent, children) in enumerate(self.active):
            rows.append(row)
            columns.append(self.index[parent])
            values.append(-1.0)
            for child in children:
                rows.append(row)
                columns.append(self.index[child])
                values.append(1.0)
            for member in {parent, *children}:
                self.relations_of[member].append(row)
        self.matrix = np.zeros((len(self.active), len(self.cells)))
        self.matrix[rows, columns] = values  # a cell is in a relation once
        # Totals that share a relation with another cell: the candidates for a pair of hidden totals.
        self.is_total = np.zeros(len(self.cells), dtype=bool)
        for parent, children in self.active:
            self.is_total[self.index[parent]] = bool(children) or len(self.relations_of[parent]) > 1

    def mask_of(self, cells) -> np.ndarray:
        """A boolean mask over the audit's cells: True for those in ``cells``."""
        mask = np.zeros(len(self.cells), dtype=bool)
        mask[[self.index[c] for c in cells if c in self.index]] = True
        return mask

    def determined(self, masked) -> list[Hashable]:
        """Masked cells whose unit vector lies in the row space of the masked columns.

        The projection of e_j onto the row space (spanned by the right singular vectors with
        nonzero singular values) has length 1 exactly when cell j is determined. Relations that
        share no masked cell are independent, so each connected block is decomposed on its own.
        """
        unknown = np.array([self.index[m] for m in masked if m in self.index], dtype=int)
        if unknown.size == 0:
            return []
        sub = self.matrix[:, unknown]
        found = []
        for rows, columns in _blocks(sub):
            _, singular, vt = np.linalg.svd(sub[np.ix_(rows, columns)], full_matrices=False)
            row_space = vt[: int((singular > 1e-9).sum())]
            projected = (row_space**2).sum(axis=0)
            found += [int(unknown[c]) for c, p in zip(columns, projected) if p > 1 - 1e-9]
        order = {int(u): i for i, u in enumerate(unknown)}
        return [self.cells[i] for i in sorted(found, key=order.__getitem__)]

    def cover(self, cell: Hashable, masked, order: Callable[[Hashable], tuple],
              frozen: np.ndarray | None = None) -> list[Hashable]:
        """Published cells to hide so that ``cell`` is no longer determined, cheapest first.

        The derivations of the cell are the combinations y of relations with
        y' A_masked = e_cell: y0 + N z, N spanning the left null space of A_masked. Hiding a
        published cell with column a breaks them all when no derivation gives it weight
        zero: N' a = 0 and y0' a != 0. Two cells a, b break them all when the system
        (N' a) z = -y0' a, (N' b) z = -y0' b has no solution. One cell is tried first; a
        kommune alone in its helsefellesskap-fylke overlap (Bindal) is a difference of
        totals and needs two totals hidden. Otherwise (chains through several relations, as
        between a pooled period and its years) the cheapest cell of the derivation y0 is hidden.
        ``frozen`` (a mask over the cells, see ``mask_of``) marks published cells that must stay so.
        """
        hidden = self.mask_of(masked)
        unknown = np.flatnonzero(hidden)
        candidates = np.flatnonzero(~hidden & (~frozen if frozen is not None else True))
        if candidates.size == 0:
            return []
        # Relations without a masked cell lie in N as they stand, so a candidate's entries there are
        # part of its residual as they are. The rest falls into blocks of relations linked by masked
        # cells; per block, a thin SVD sub = U S V' gives y0 = U_r S_r^-1 V_r' e_cell (in the block of
        # the cell, which is determined, so a solution exists) and the basis U_r of range(sub). N spans
        # the complement of range(sub), so N' a = 0 exactly when a's residual outside it is zero, and
        # inner products of N' a equal those of the residuals: the residuals stand in for N' a.
        sub = self.matrix[:, unknown]
        columns = self.matrix[:, candidates]
        weight_null = columns.copy()
        y0 = np.zeros(self.matrix.shape[0])
        target = int(np.searchsorted(unknown, self.index[cell]))
        for rows, block_columns in _blocks(sub):
            u, singular, vt = np.linalg.svd(sub[np.ix_(rows, block_columns)], full_matrices=False)
            rank = int((singular > 1e-9).sum())
            basis = u[:, :rank]
            weight_null[rows] -= basis @ (basis.T @ columns[rows])
            if target in block_columns:
                y0[rows] = basis @ (vt[:rank, block_columns.index(target)] / singular[:rank])
        weight_y0 = y0 @ columns
        cell_at = lambda j: self.cells[candidates[j]]  # noqa: E731
        breaks_all = (np.abs(weight_null).max(axis=0, initial=0.0) < 1e-9) & (np.abs(weight_y0) > 1e-9)
        if breaks_all.any():
            return [min((cell_at(j) for j in np.flatnonzero(breaks_all)), key=order)]
        totals = sorted(np.flatnonzero(self.is_total[candidates]), key=lambda j: order(cell_at(j)))[:40]
        pair = _first_inconsistent_pair(weight_null[:, totals].T, weight_y0[totals])
        if pair is not None:
            return [cell_at(totals[pair[0]]), cell_at(totals[pair[1]])]
        # No one or two cells break every derivation: break this one (y0) at its cheapest published
        # cell. The relation pass then hides what that cell alone would expose, and the audit
        # repeats with fewer derivations left.
        used = np.flatnonzero(np.abs(weight_y0) > 1e-9)
        return [min((cell_at(j) for j in (used if used.size else range(candidates.size))), key=order)]


_ONE_BLOCK_ROWS = 64


def _blocks(sub: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    """The connected blocks of a relations x masked-cells matrix: (row indices, column indices) of each
    set of relations and masked cells linked through shared cells; rows without a masked cell are left out."""
    rows, columns = np.nonzero(sub)
    if rows.size == 0:
        return []
    if sub.shape[0] <= _ONE_BLOCK_ROWS:  # small systems: one SVD is cheaper than finding the blocks
        used = np.unique(rows)
        return [(used, np.unique(columns).tolist())]
    from scipy.sparse import coo_matrix  # imported when first needed: scipy.sparse is slow to import
    from scipy.sparse.csgraph import connected_components

    n_rows = sub.shape[0]
    graph = coo_matrix((np.ones(rows.size), (rows, n_rows + columns)), shape=(n_rows + sub.shape[1],) * 2)
    _, labels = connected_components(graph, directed=False)
    blocks: dict[int, tuple[list[int], list[int]]] = {}
    for row in np.unique(rows):
        blocks.setdefault(labels[row], ([], []))[0].append(int(row))
    for column in np.unique(columns):
        blocks.setdefault(labels[n_rows + column], ([], []))[1].append(int(column))
    return [(np.array(r), c) for r, c in blocks.values()]


def _first_inconsistent_pair(directions: np.ndarray, offsets: np.ndarray) -> tuple[int, int] | None:
    """The first pair (a < b, in row order) for which (d_a) z = -o_a, (d_b) z = -o_b has no solution z.

    Two equations in z are inconsistent exactly when d_a and d_b are parallel (rank 1 or 0)
    while the augmented rows (d_a, o_a) and (d_b, o_b) are not (rank 2). Both ranks follow
    from 2 x 2 Gram determinants, so every pair is tested at once.
    """
    n = directions.shape[0]
    if n < 2:
        return None
    augmented = np.column_stack([directions, offsets])

    def gram_determinants(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gram = rows @ rows.T
        norms = np.diag(gram)
        scale = np.outer(norms, norms)
        return scale - gram**2, scale

    det_d, scale_d = gram_determinants(directions)
    det_a, scale_a = gram_determinants(augmented)
    parallel = det_d <= 1e-9 * np.maximum(scale_d, 1.0)
    independent = det_a > 1e-9 * np.maximum(scale_a, 1.0)
    hits = np.argwhere(np.triu(parallel & independent, k=1))
    return (int(hits[0][0]), int(hits[0][1])) if hits.size else None


def derivable_cells(masked: Sequence[Hashable], relations: Sequence[Relation], present: set) -> list[Hashable]:
    """Masked cells whose value follows from the published cells through the relations."""
    return LinearAudit(relations, present).determined(masked)


@lru_cache(maxsize=64)
def _audit(relations: tuple[Relation, ...], present: frozenset) -> LinearAudit:
    return LinearAudit(relations, present)


def clear_caches() -> None:
    _audit.cache_clear()


def suppress(
    numerators: Mapping[Hashable, float],
    denominators: Mapping[Hashable, float],
    relations: Sequence[Relation],
    threshold: int,
    protect_denominator: bool,
    forced: Sequence[Hashable] = (),
    cost: Callable[[Hashable, Mapping, Mapping], tuple] = count_cost,
    frozen: Collection[Hashable] = (),
) -> dict[Hashable, str]:
    """Masked cells and why. Cells missing from ``numerators`` (not reported) take no part.

    1. primary: small counts (and forced cells);
    2. per relation: no relation with a published total may have exactly one masked member,
       or masked members holding fewer than ``threshold`` events together;
    3. audit: while a masked cell is still determined by the published cells, hide the
       cheapest published cell (or pair of totals) that leaves it undetermined, and go back
       to step 2.

    ``cost(key, numerators, denominators)`` orders the candidates for extra masks (lowest
    first); the engine prefers kommuner over the totals users read most. Cells in ``frozen``
    are already published elsewhere (e.g. single years, when a pooled period is audited with
    them) and are never masked.
    """
    present = set(numerators)
    frozen = frozenset(frozen)
    costs: dict = {}

    def order(key: Hashable) -> tuple:
        if key not in costs:
            costs[key] = cost(key, numerators, denominators)
        return costs[key]

    masked = primary_suppression(numerators, denominators, threshold, protect_denominator)
    for key in forced:
        if key in present:
            masked.setdefault(key, FORCED)
    if not masked:
        return masked
    audit = _audit(tuple(relations), frozenset(present))
    frozen_cells = audit.mask_of(frozen) if frozen else None
    # Only a relation one of whose members was masked since it was last checked can be exposed.
    dirty = set(range(len(audit.active)))
    while True:
        changed = True
        while changed:
            changed = False
            for index, (parent, children) in enumerate(audit.active):
                if index not in dirty:
                    continue
                dirty.discard(index)
                if parent in masked:
                    continue
                members = [c for c in children if c in masked]
                if members and _relation_exposed(members, numerators, denominators, threshold, protect_denominator):
                    cell = _mask_one_more(children, parent, masked, order, frozen)
                    if cell is not None:
                        dirty.update(audit.relations_of[cell])
                        changed = True
        exposed = audit.determined(masked)
        if not exposed:
            return masked
        cover = audit.cover(exposed[0], masked, order, frozen_cells)
        if not cover:
            return masked  # nothing left to hide around it
        for cell in cover:
            masked[cell] = SECONDARY
            dirty.update(audit.relations_of[cell])
