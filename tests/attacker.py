"""An outsider's linear-programming attack on published counts, written independently of the engine.

The attacker knows a set of linear equations over unknown whole, non-negative counts (every
published total, with the published counts moved to the right-hand side), that zeros are shown
(so every unknown is at least 1), and optional inequalities (a numerator never exceeds its
denominator). For a hidden quantity (a sum of unknowns) it computes the LP minimum and maximum
with SciPy's HiGHS, rounded inwards to whole numbers as the attacker would.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class Attack:
    """Equations ``sum(unknowns) + constant = value`` and inequalities ``a <= b`` over named unknowns."""

    equations: list[tuple[tuple[Hashable, ...], float]] = field(default_factory=list)
    less_equal: list[tuple[Hashable, Hashable]] = field(default_factory=list)
    upper: dict[Hashable, float] = field(default_factory=dict)
    lower: dict[Hashable, float] = field(default_factory=dict)  # default 1: zeros are shown

    def equation(self, unknowns: Iterable[Hashable], value: float) -> None:
        unknowns = tuple(unknowns)
        if unknowns:
            self.equations.append((unknowns, float(value)))

    def bounds(self, targets: Sequence[tuple[Hashable, ...]]) -> list[tuple[float, float]]:
        """(min, max) of each target sum, whole numbers (inf when unbounded above)."""
        names = sorted({u for eq, _ in self.equations for u in eq} | {u for t in targets for u in t}
                       | {u for pair in self.less_equal for u in pair}, key=repr)
        index = {u: i for i, u in enumerate(names)}
        n = len(names)
        # Split into independent components: unknowns linked by an equation or inequality.
        links_i, links_j = [], []
        for eq, _ in self.equations:
            links_i += [index[eq[0]]] * len(eq)
            links_j += [index[u] for u in eq]
        for a, b in self.less_equal:
            links_i.append(index[a])
            links_j.append(index[b])
        for t in targets:
            links_i += [index[t[0]]] * len(t)
            links_j += [index[u] for u in t]
        graph = coo_matrix((np.ones(len(links_i)), (links_i, links_j)), shape=(n, n))
        labels = connected_components(graph, directed=False)[1] if n else np.array([], dtype=int)
        by_label: dict[int, list[int]] = {}
        for k, t in enumerate(targets):
            by_label.setdefault(int(labels[index[t[0]]]), []).append(k)
        eq_by_label: dict[int, list] = {}
        for eq, value in self.equations:
            eq_by_label.setdefault(int(labels[index[eq[0]]]), []).append((eq, value))
        le_by_label: dict[int, list] = {}
        for a, b in self.less_equal:
            le_by_label.setdefault(int(labels[index[a]]), []).append((a, b))
        out: list[tuple[float, float]] = [(np.nan, np.nan)] * len(targets)
        for label, ks in by_label.items():
            members = np.flatnonzero(labels == label)
            local = {names[m]: i for i, m in enumerate(members)}
            m = len(members)
            rows = eq_by_label.get(label, [])
            a_eq = np.zeros((len(rows), m))
            b_eq = np.zeros(len(rows))
            for r, (eq, value) in enumerate(rows):
                for u in eq:
                    a_eq[r, local[u]] += 1.0
                b_eq[r] = value
            les = le_by_label.get(label, [])
            a_ub = np.zeros((len(les), m))
            for r, (a, b) in enumerate(les):
                a_ub[r, local[a]] += 1.0
                a_ub[r, local[b]] -= 1.0
            var_bounds = [(self.lower.get(names[mm], 1.0), self.upper.get(names[mm])) for mm in members]
            for k in ks:
                c = np.zeros(m)
                for u in targets[k]:
                    c[local[u]] += 1.0
                result = []
                for sign in (1.0, -1.0):
                    res = linprog(sign * c, A_ub=a_ub if les else None, b_ub=np.zeros(len(les)) if les else None,
                                  A_eq=a_eq if rows else None, b_eq=b_eq if rows else None, bounds=var_bounds,
                                  method="highs")
                    if res.status == 3:  # unbounded
                        result.append(np.inf)
                    elif res.status != 0:
                        raise AssertionError(f"the attacker's LP failed: {res.message}")
                    else:
                        result.append(sign * res.fun)
                low, high = result
                out[k] = (float(np.ceil(low - 1e-6)), float(np.floor(high + 1e-6)) if np.isfinite(high) else np.inf)
        return out
