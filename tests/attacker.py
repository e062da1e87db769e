"""An outsider's linear-programming attack on published counts, written independently of the engine.

The attacker knows a set of linear equations over unknown whole, non-negative counts (every
published total, with the published counts moved to the right-hand side), that zeros are shown
(so every unknown is at least 1), and optional inequalities (a numerator never exceeds its
denominator), and optional linear equations with any coefficients (a cohort equals the sum of
its overlap combinations). For a hidden quantity (a sum of unknowns) it computes the LP minimum and maximum
with SciPy's HiGHS, rounded inwards to whole numbers as the attacker would.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class Attack:
    """Equations ``sum(unknowns) + constant = value`` and inequalities ``a <= b`` over named unknowns."""

    equations: list[tuple[tuple[Hashable, ...], float]] = field(default_factory=list)
    less_equal: list[tuple[Hashable, Hashable]] = field(default_factory=list)
    upper: dict[Hashable, float] = field(default_factory=dict)
    lower: dict[Hashable, float] = field(default_factory=dict)  # default 1: zeros are shown
    linear: list[tuple[tuple[tuple[Hashable, float], ...], float]] = field(default_factory=list)

    def linear_equation(self, terms: Iterable[tuple[Hashable, float]], value: float) -> None:
        """``sum(coef * unknown) = value``."""
        terms = tuple((u, float(c)) for u, c in terms if c)
        if terms:
            self.linear.append((terms, float(value)))

    def equation(self, unknowns: Iterable[Hashable], value: float) -> None:
        unknowns = tuple(unknowns)
        if unknowns:
            self.equations.append((unknowns, float(value)))

    def bounds(self, targets: Sequence[tuple[Hashable, ...]]) -> list[tuple[float, float]]:
        """(min, max) of each target sum, whole numbers (inf when unbounded above)."""
        names = sorted({u for eq, _ in self.equations for u in eq} | {u for t in targets for u in t}
                       | {u for pair in self.less_equal for u in pair}
                       | {u for terms, _ in self.linear for u, _ in terms}, key=repr)
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
        for terms, _ in self.linear:
            links_i += [index[terms[0][0]]] * len(terms)
            links_j += [index[u] for u, _ in terms]
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
            eq_by_label.setdefault(int(labels[index[eq[0]]]), []).append((tuple((u, 1.0) for u in eq), value))
        for terms, value in self.linear:
            eq_by_label.setdefault(int(labels[index[terms[0][0]]]), []).append((terms, value))
        le_by_label: dict[int, list] = {}
        for a, b in self.less_equal:
            le_by_label.setdefault(int(labels[index[a]]), []).append((a, b))
        out: list[tuple[float, float]] = [(np.nan, np.nan)] * len(targets)
        for label, ks in by_label.items():
            members = np.flatnonzero(labels == label)
            local = {names[m]: i for i, m in enumerate(members)}
            m = len(members)
            rows = eq_by_label.get(label, [])
            # Sparse constraint matrices (duplicates add up): a component may hold thousands of unknowns.
            cells = [(r, local[u], coef) for r, (terms, _) in enumerate(rows) for u, coef in terms]
            a_eq = csr_matrix(([c for _, _, c in cells], ([r for r, _, _ in cells], [j for _, j, _ in cells])),
                              shape=(len(rows), m))
            b_eq = np.array([value for _, value in rows], dtype=float)
            les = le_by_label.get(label, [])
            pairs = [(r, local[a], 1.0) for r, (a, _) in enumerate(les)] + [(r, local[b], -1.0) for r, (_, b) in enumerate(les)]
            a_ub = csr_matrix(([c for _, _, c in pairs], ([r for r, _, _ in pairs], [j for _, j, _ in pairs])),
                              shape=(len(les), m))
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
