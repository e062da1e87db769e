"""Suppression of small counts that holds against an attacker with a linear-programming solver.

The model (as τ-Argus and sdcTable apply it to frequency tables):

- **Atoms** are the counts nothing is published below: one measure's count for one area
  unit (a kommune, or a bydel where the kommune is split) in one year.
- **Cells** are what a release publishes: sums of atoms (a kommune in a year is one atom;
  a helsefellesskap, a fylke, a sentralitet class or a pooled window is the sum of the atoms
  of its units and years). A cell published by several indicators (a shared numerator or
  denominator) is one cell, so it is suppressed once for all of them.
- **The attacker** knows every published cell, that counts are whole and non-negative, that
  zeros are published (so every hidden atom is at least 1), any stated inequality
  between atoms (a numerator never exceeds its denominator) and any stated equality (a
  cohort is the sum of its overlap combinations, in every unit and year). Hidden cells carry one symbol,
  whatever the reason, so the attacker cannot tell a small count from a protective one.
- **Protection rule.** For every hidden cell with a true count from 1 to threshold − 1, the
  attacker's feasible interval (LP minimum and maximum of the cell over everything
  published) must reach at least the threshold, and for a single atom start at 1 or below:
  the attacker can neither pin the count nor prove it small. (A hidden total of k hidden
  atoms is at least k, so the lower end is only required of atoms; an atom that an equality
  makes the sum of others, a cohort of its overlap combinations, is such a total.) No other hidden cell may
  be pinned either, so no hidden cell follows from the published ones (the rank guarantee).

``protect`` starts from the primary cells (1 to threshold − 1) and hides more published
cells, cheapest first, until every hidden cell holds its interval. The functions are pure:
arrays in, the hidden cells out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

SMALL_COUNT = "small_count"
SECONDARY = "secondary"

_EPS = 1e-7


@dataclass
class Problem:
    """One independent block of a release.

    ``incidence`` (cells x atoms, 0/1) says which atoms each cell sums; every atom must have a
    cell of its own (``atom_cell``), the published number for that unit and year. ``cost``
    orders the cells that may be hidden to protect others (lowest first). ``frozen`` cells
    are already decided (published or hidden in ``hidden``) by an earlier stage and are not
    changed. ``bounds`` are pairs (i, j) of atoms with atom i <= atom j (numerator and
    denominator); ``atom_upper`` holds known upper limits of atoms (a population).
    ``equalities`` are pairs (i, (j, k, ...)) with atom i = atom j + atom k + ... (a cohort and the
    overlap combinations that contain it): the attacker knows them, so every LP uses them.
    """

    incidence: sparse.csr_matrix
    atom_values: np.ndarray
    thresholds: np.ndarray  # per cell
    cost: Sequence[tuple]  # per cell
    frozen: np.ndarray | None = None  # bool per cell
    hidden: np.ndarray | None = None  # bool per cell: already hidden (with frozen)
    bounds: Sequence[tuple[int, int]] = ()
    equalities: Sequence[tuple[int, Sequence[int]]] = ()
    atom_upper: np.ndarray | None = None
    atom_lower: np.ndarray | None = None  # what the attacker knows of a hidden atom (default 1: zeros are shown)
    rows: Sequence[tuple[int, ...]] = ()  # output rows: a row shows its cells only when none of them is hidden
    atom_cell: np.ndarray = field(init=False)
    values: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.incidence = sparse.csr_matrix(self.incidence, dtype=np.float64)
        n_cells, n_atoms = self.incidence.shape
        self.atom_values = np.asarray(self.atom_values, dtype=np.float64)
        if self.atom_values.shape != (n_atoms,):
            raise ValueError(f"atom_values has {self.atom_values.shape} values for {n_atoms} atoms")
        if (self.atom_values < 0).any():
            raise ValueError("counts cannot be negative")
        self.thresholds = np.broadcast_to(np.asarray(self.thresholds, dtype=np.float64), (n_cells,))
        if len(self.cost) != n_cells:
            raise ValueError(f"cost has {len(self.cost)} entries for {n_cells} cells")
        self.values = self.incidence @ self.atom_values
        sizes = np.diff(self.incidence.indptr)
        self.atom_cell = np.full(n_atoms, -1)
        singles = np.flatnonzero(sizes == 1)
        self.atom_cell[self.incidence.indices[self.incidence.indptr[singles]]] = singles
        if (self.atom_cell < 0).any():
            raise ValueError(f"atom {int(np.flatnonzero(self.atom_cell < 0)[0])} has no cell of its own")
        self.frozen = np.zeros(n_cells, dtype=bool) if self.frozen is None else np.asarray(self.frozen, dtype=bool)
        self.hidden = np.zeros(n_cells, dtype=bool) if self.hidden is None else np.asarray(self.hidden, dtype=bool)
        if self.atom_upper is None:
            self.atom_upper = np.full(n_atoms, np.inf)
        self.atom_lower = np.ones(n_atoms) if self.atom_lower is None else np.asarray(self.atom_lower, dtype=np.float64)
        self.equality_matrix = _equality_matrix(self.equalities, n_atoms)
        broken = np.flatnonzero(np.abs(self.equality_matrix @ self.atom_values) > _EPS)
        if broken.size:
            raise ValueError(f"equality {self.equalities[int(broken[0])]} does not hold for the counts")
        # Cells whose hidden count must be able to fall to 1: an atom's own cell, unless an equality
        # makes the atom a sum of others (then, like any total, it is at least its count of parts).
        self.reaches_one = sizes == 1
        derived = [int(total) for total, _ in self.equalities]
        self.reaches_one[self.atom_cell[derived]] = False
        self.row_matrix = None
        if self.rows:
            index = [(r, c) for r, cells in enumerate(self.rows) for c in cells]
            self.row_matrix = sparse.csr_matrix(
                (np.ones(len(index)), ([r for r, _ in index], [c for _, c in index])), shape=(len(self.rows), n_cells))
            self.in_a_row = np.asarray(self.row_matrix.sum(axis=0)).ravel() > 0


def _equality_matrix(equalities, n_atoms: int) -> sparse.csr_matrix:
    """One row per equality i = j + k + ...: +1 at i, -1 at j, k, ... (so the row times the atoms is 0)."""
    rows, cols, coefs = [], [], []
    for r, (total, parts) in enumerate(equalities):
        parts = [int(p) for p in parts]
        rows += [r] * (1 + len(parts))
        cols += [int(total), *parts]
        coefs += [1.0] + [-1.0] * len(parts)
    matrix = sparse.csr_matrix((coefs, (rows, cols)), shape=(len(equalities), n_atoms))
    matrix.sum_duplicates()
    return matrix


def primary(problem: Problem) -> np.ndarray:
    """Cells with a count from 1 to threshold − 1 (bool per cell)."""
    return (problem.values > 0) & (problem.values < problem.thresholds)


def primary_cell(problem: Problem, cell: int) -> bool:
    return bool(0 < problem.values[cell] < problem.thresholds[cell])


def effective(problem: Problem, hidden: np.ndarray) -> np.ndarray:
    """What the release really hides: a cell is shown only by an output row none of whose cells is
    hidden (a proportion's row hides its numerator with its denominator). Bool per cell."""
    if problem.row_matrix is None:
        return hidden.copy()
    clean = (problem.row_matrix @ hidden.astype(np.float64)) == 0
    shown = (problem.row_matrix.T @ clean.astype(np.float64)) > 0
    return hidden | (problem.in_a_row & ~shown)


def protect(problem: Problem) -> dict[int, str]:
    """The hidden cells of the block (cell index -> ``small_count`` or ``secondary``).

    1. primary: every unfrozen cell with a count from 1 to threshold − 1;
    2. the cheap necessary conditions per published total (``_relation_pass``);
    3. while a hidden cell breaks the rule (a small one: its interval; any other: it is pinned,
       which keeps the old rank guarantee that no hidden cell follows from the published ones),
       hide the published cells that the cheapest attacker change protecting it touches
       (``_Cover``). Zeros are never hidden: the attacker is told they are shown.
    """
    small = primary(problem) & ~problem.frozen
    hidden = problem.hidden.copy() | small
    reasons = {int(i): SMALL_COUNT for i in np.flatnonzero(small)}
    # Hiding more never narrows an interval (it frees atoms or drops equations), so a cell found
    # protected stays protected: only the others, and cells hidden since, are audited again.
    shown = effective(problem, hidden)
    pending = shown.copy()
    cover = None
    while pending.any():
        for extra in _relation_pass(problem, hidden):
            reasons[extra] = SECONDARY
        now = effective(problem, hidden)
        pending |= now & ~shown
        shown = now
        violations = audit(problem, shown, pending)
        pending[:] = False
        chosen: set[int] = set()
        for cell, (up, down) in violations:
            if cover is None:
                cover = _Cover(problem, shown)
            extra = [c for c in cover.cells_for(cell, up, down) if not shown[c]]
            if not extra:
                continue  # nothing left to hide around it
            pending[cell] = True
            for c in extra:
                hidden[c] = True
                reasons[c] = SECONDARY
                chosen.add(c)
            now = effective(problem, hidden)
            pending |= now & ~shown
            shown = now
            cover.set_hidden(shown)
        if not chosen:
            break
    return {int(c): reasons.get(int(c), SECONDARY) for c in np.flatnonzero(shown & ~problem.frozen)}


class _Cover:
    """The attacker-deviation LP of the classical cell-suppression model, built once per block.

    A change δ of the atoms that keeps every published cell that stays published unchanged, keeps
    every atom within its known bounds (at least 1, at most a known limit, numerator at most
    denominator, zeros fixed), and moves a cell up by threshold − value (or an atom down to 1).
    Each published cell the change touches costs its value times a level weight (cost[0] + 1):
    hiding many small cells costs less than hiding one large total. The cells the cheapest change
    touches are hidden; that change is then open to the attacker, so the cell's interval reaches.
    Hiding a cell only makes its change free, so one model serves the whole block, warm-started.
    """

    def __init__(self, problem: Problem, hidden: np.ndarray):
        import highspy

        self.hs = highspy
        a = problem.incidence
        n_cells, n_atoms = a.shape
        values = problem.atom_values
        atom_hidden = hidden[problem.atom_cell]
        may_move = atom_hidden | ((values > 0) & ~problem.frozen[problem.atom_cell])
        lower = np.where(may_move, np.minimum(problem.atom_lower, values) - values, 0.0)
        upper = np.where(may_move, np.minimum(problem.atom_upper, 1e12) - values, 0.0)
        inf = highspy.kHighsInf
        h = self.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # Frozen published cells never change; every other cell has an up and a down change (p, m).
        self.free = np.flatnonzero(~(problem.frozen & ~hidden))
        fixed = np.flatnonzero(problem.frozen & ~hidden)
        self.n_atoms, nf = n_atoms, self.free.size
        self.weight = np.array([(problem.cost[c][0] + 1) * max(problem.values[c], 1.0) for c in self.free])
        h.addVars(n_atoms, lower, upper)
        h.addVars(2 * nf, np.zeros(2 * nf), np.full(2 * nf, inf))
        rows = np.concatenate([self.free, fixed])
        sub = a[rows]
        starts, index, coef = [0], [], []
        for k in range(rows.size):
            cols = sub.indices[sub.indptr[k]:sub.indptr[k + 1]].tolist()
            extra = [n_atoms + k, n_atoms + nf + k] if k < nf else []
            index.extend(cols + extra)
            coef.extend([1.0] * len(cols) + [-1.0, 1.0][:len(extra)])
            starts.append(len(index))
        zeros = np.zeros(rows.size)
        h.addRows(rows.size, zeros, zeros, len(index), np.array(starts[:-1], dtype=np.int32),
                  np.array(index, dtype=np.int32), np.array(coef))
        eq = problem.equality_matrix  # the change keeps every equality: E δ = 0
        for r in range(eq.shape[0]):
            cols = eq.indices[eq.indptr[r]:eq.indptr[r + 1]].astype(np.int32)
            h.addRow(0.0, 0.0, cols.size, cols, eq.data[eq.indptr[r]:eq.indptr[r + 1]].astype(np.float64))
        for i, j in problem.bounds:  # (x_i + δ_i) <= (x_j + δ_j)
            h.addRow(-inf, float(values[j] - values[i]), 2, np.array([i, j], dtype=np.int32), np.array([1.0, -1.0]))
        self.target = h.getNumRow()
        h.addRow(-inf, inf, 0, np.array([], dtype=np.int32), np.array([]))
        self.problem = problem
        self.set_hidden(hidden)
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)

    def set_hidden(self, hidden: np.ndarray) -> None:
        """A hidden cell changes for free."""
        cost = np.where(hidden[self.free], 0.0, self.weight)
        columns = np.arange(self.n_atoms, self.n_atoms + 2 * self.free.size, dtype=np.int32)
        self.h.changeColsCost(columns.size, columns, np.tile(cost, 2))

    def cells_for(self, cell: int, up: bool = True, down: bool = True) -> list[int]:
        """The published cells the cheapest change that protects ``cell`` touches: a change that lifts it
        to the threshold (``up``) and one that brings an atom down to 1 (``down``)."""
        hs, h, problem = self.hs, self.h, self.problem
        a = problem.incidence
        own = a.indices[a.indptr[cell]:a.indptr[cell + 1]]
        if not primary_cell(problem, cell):  # a pinned cell: any move will do, up first
            goals = [(1.0, hs.kHighsInf), (-hs.kHighsInf, -1.0)]
        else:
            goals = [(problem.thresholds[cell] - problem.values[cell], hs.kHighsInf)] if up else []
            if down and problem.reaches_one[cell] and problem.values[cell] > 1:  # an atom must also be able to reach 1
                goals.append((-hs.kHighsInf, 1.0 - problem.values[cell]))
        for atom in own:
            h.changeCoeff(self.target, int(atom), 1.0)
        touched: set[int] = set()
        nf = self.free.size
        for low, high in goals:
            h.changeRowBounds(self.target, float(low), float(high))
            h.run()
            if h.getModelStatus() != hs.HighsModelStatus.kOptimal:
                continue
            change = np.asarray(h.getSolution().col_value)
            moved = np.abs(change[self.n_atoms:self.n_atoms + nf]) + np.abs(change[self.n_atoms + nf:])
            touched |= {int(c) for c in self.free[moved > 1e-7]}
            if not primary_cell(problem, cell):
                break
        for atom in own:
            h.changeCoeff(self.target, int(atom), 0.0)
        h.changeRowBounds(self.target, -hs.kHighsInf, hs.kHighsInf)
        return sorted(touched)


def _relation_pass(problem: Problem, hidden: np.ndarray) -> list[int]:
    """The cheap necessary conditions, before any LP: hide cells (in ``hidden``) until no published
    total holds exactly one hidden atom next to a small one, and the hidden atoms of every published
    total that holds a small one are large enough to let it reach the threshold (the others at 1).
    Returns the cells hidden."""
    a = problem.incidence
    small_cells = primary(problem)
    added = []
    while True:
        shown_hidden = effective(problem, hidden)
        variable = shown_hidden[problem.atom_cell]
        small_atoms = variable & small_cells[problem.atom_cell]
        n_var = a @ variable.astype(np.float64)
        s_var = a @ np.where(variable, problem.atom_values, 0.0)
        need = a.multiply(np.where(small_atoms, problem.thresholds[problem.atom_cell], 0.0)).max(axis=1).toarray().ravel()
        bad = np.flatnonzero(~shown_hidden & (need > 0) & ((n_var == 1) | (s_var - (n_var - 1) < need)))
        if bad.size == 0:
            return added
        touched: set[int] = set()
        for total in bad:
            atoms = a.indices[a.indptr[total]:a.indptr[total + 1]]
            if touched & set(atoms.tolist()):
                continue  # an atom hidden this pass already changed this total: look again next pass
            cells = problem.atom_cell[atoms]
            ok = ~shown_hidden[cells] & ~problem.frozen[cells] & (problem.atom_values[atoms] > 0)
            deficit = need[total] + n_var[total] - s_var[total]
            if ok.any():
                choice = min(np.flatnonzero(ok), key=lambda i: (problem.cost[cells[i]][0], problem.atom_values[atoms[i]] < deficit,
                                                                 problem.atom_values[atoms[i]], problem.cost[cells[i]]))
                extra = int(cells[choice])
                touched.add(int(atoms[choice]))
            elif not problem.frozen[total] and problem.values[total] > 0:
                extra = int(total)
            else:
                continue
            hidden[extra] = True
            added.append(extra)
        if not touched and not added:
            return added
        if not touched:
            return added


def audit(problem: Problem, hidden: np.ndarray, check: np.ndarray | None = None) -> list[tuple[int, tuple]]:
    """Hidden cells (of ``check``, default all) that break the rule, each with what it breaks:
    (it cannot rise far enough, it cannot fall far enough). A small cell must reach the threshold
    (and an atom 1); any other hidden cell must not be pinned."""
    check = hidden if check is None else (check & hidden)
    small = primary(problem)
    bad = []
    for cell, _, low, high in intervals(problem, hidden, check):
        single = problem.reaches_one[cell]
        low_i, high_i = np.ceil(low - _EPS), np.floor(high + _EPS)
        if small[cell]:
            too_low, too_high = high_i < problem.thresholds[cell], single and low_i > 1
        else:
            too_low = too_high = low_i >= high_i  # pinned
        if too_low or too_high:
            bad.append((cell, (too_low, too_high)))
    return bad


def intervals(problem: Problem, hidden: np.ndarray, check: np.ndarray | None = None,
              exact: bool = False) -> list[tuple[int, object, float, float]]:
    """(cell, group, LP minimum, LP maximum) of every hidden cell (of ``check``, default all).

    ``group`` names the linked hidden atoms the cell's interval depends on; a hidden cell whose
    atoms are all published is pinned at its value.
    """
    check = hidden if check is None else (check & hidden)
    a = problem.incidence
    variable = hidden[problem.atom_cell]  # atoms whose own cell is hidden
    constant_part = a @ np.where(variable, 0.0, problem.atom_values)
    var_atoms = np.flatnonzero(variable)
    a_var = a[:, var_atoms].tocsr()
    touches = np.diff(a_var.indptr) > 0
    out = [(int(c), ("pinned", int(c)), problem.values[c], problem.values[c]) for c in np.flatnonzero(check & ~touches)]
    if var_atoms.size == 0:
        return out
    published_rows = np.flatnonzero(~hidden & touches)
    check_rows = np.flatnonzero(hidden & touches)
    position = np.full(a.shape[1], -1)
    position[var_atoms] = np.arange(var_atoms.size)
    pairs = [(position[i], position[j], i, j) for i, j in problem.bounds if variable[i] or variable[j]]
    # Equalities over hidden atoms: E_var x = -(E times the published atoms).
    eq = problem.equality_matrix
    eq_var = eq[:, var_atoms].tocsr()
    eq_rhs = -(eq @ np.where(variable, 0.0, problem.atom_values))
    eq_rows = np.flatnonzero(np.diff(eq_var.indptr) > 0)
    labels = _components(var_atoms.size, a_var, np.concatenate([published_rows, check_rows]), pairs,
                         eq_var[eq_rows])
    row_label = labels[a_var.indices[a_var.indptr[:-1][touches]]]
    by_label: dict[int, tuple[list, list]] = {}
    for r, label in zip(np.flatnonzero(touches), row_label):
        if not hidden[r] or check[r]:
            by_label.setdefault(int(label), ([], []))[1 if hidden[r] else 0].append(int(r))
    pairs_by_label: dict[int, list] = {}
    for pair in pairs:
        pairs_by_label.setdefault(int(labels[pair[0] if pair[0] >= 0 else pair[1]]), []).append(pair)
    eqs_by_label: dict[int, list] = {}
    for r in eq_rows:
        cols = eq_var.indices[eq_var.indptr[r]:eq_var.indptr[r + 1]]
        eqs_by_label.setdefault(int(labels[cols[0]]), []).append(
            (cols, eq_var.data[eq_var.indptr[r]:eq_var.indptr[r + 1]], float(eq_rhs[r])))
    for label, (rows, checks) in by_label.items():
        if not checks:
            continue
        columns = np.flatnonzero(labels == label)
        bounds = _solve_component(problem, a_var, var_atoms, columns, rows, checks, constant_part,
                                  pairs_by_label.get(label, []), exact=exact, equalities=eqs_by_label.get(label, []))
        out += [(cell, int(var_atoms[columns[0]]), low, high) for cell, low, high in bounds]
    return out


def _components(n: int, a_var: sparse.csr_matrix, rows: np.ndarray, pairs, equalities=None) -> np.ndarray:
    """Connected components of the hidden atoms, linked by the cells, bounds and equalities they share."""
    from scipy.sparse.csgraph import connected_components

    linking = a_var[rows]
    if equalities is not None and equalities.shape[0]:
        linking = sparse.vstack([linking, abs(equalities)]).tocsr()
    sub = linking.tocoo()
    heads = linking.indices[linking.indptr[:-1][sub.row]] if sub.nnz else np.array([], dtype=int)
    linked = [(p, q) for p, q, _, _ in pairs if p >= 0 and q >= 0]
    links_i = np.concatenate([heads, np.array([p for p, _ in linked], dtype=int)])
    links_j = np.concatenate([sub.col, np.array([q for _, q in linked], dtype=int)])
    graph = sparse.coo_matrix((np.ones(links_i.size), (links_i, links_j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _solve_component(problem, a_var, var_atoms, columns, rows, checks, constant_part, pairs, exact=False,
                     equalities=()):
    """Bounds of each checked cell over one group of linked hidden atoms (HiGHS).

    With ``exact`` the LP minimum and maximum of every cell. Otherwise the bounds are proven wide
    enough where they are: one LP maximises the sum of min(cell, threshold) over the cells not yet
    proven (and one minimises the sum of max(atom, 1)), and every cell that reaches its threshold
    (or 1) in that solution is proven at once; this repeats until no more are proven, and the
    rest get their own exact LP. Returns (cell, low, high); ``low`` is only computed for atoms.
    """
    import highspy

    n = columns.size
    local = np.full(var_atoms.size, -1)
    local[columns] = np.arange(n)
    lower = problem.atom_lower[var_atoms[columns]].copy()  # zeros are published: a hidden atom is mostly at least 1
    upper = problem.atom_upper[var_atoms[columns]].astype(np.float64).copy()
    linked = []
    for p, q, i, j in pairs:  # atom i <= atom j
        if p >= 0 and q >= 0:
            linked.append((local[p], local[q]))
        elif p >= 0:
            upper[local[p]] = min(upper[local[p]], problem.atom_values[j])
        else:
            lower[local[q]] = max(lower[local[q]], problem.atom_values[i])
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")  # one model, many objectives: warm-started simplex
    check_cols = [local[a_var.indices[a_var.indptr[r]:a_var.indptr[r + 1]]] for r in checks]
    m = len(checks)
    const = constant_part[checks]
    small = primary(problem)[checks]
    # The hidden part of a small cell must reach the threshold; any other cell must be able to move.
    need = np.where(small, problem.thresholds[checks], problem.values[checks] + 1) - const
    single = problem.reaches_one[np.asarray(checks, dtype=int)]
    # Columns: x (n), then y (m, y_c <= cell c, y_c <= need_c), then z (m, z_c >= x_c, z_c >= 1).
    h.addVars(n, lower, np.minimum(upper, inf))
    h.addVars(m, np.full(m, -inf), need)
    h.addVars(m, np.ones(m), np.full(m, inf))
    starts, index, value, row_lo, row_hi = [0], [], [], [], []

    def row(cols, coefs, lo, hi):
        index.extend(cols)
        value.extend(coefs)
        starts.append(len(index))
        row_lo.append(lo)
        row_hi.append(hi)

    for r in rows:
        cols = local[a_var.indices[a_var.indptr[r]:a_var.indptr[r + 1]]]
        rhs = problem.values[r] - constant_part[r]
        row(cols.tolist(), [1.0] * cols.size, rhs, rhs)
    for lp, lq in linked:
        row([int(lp), int(lq)], [1.0, -1.0], -inf, 0.0)
    for cols, coefs, rhs in equalities:
        row(local[cols].tolist(), coefs.tolist(), rhs, rhs)
    for c, cols in enumerate(check_cols):
        row([n + c, *cols.tolist()], [1.0] + [-1.0] * cols.size, -inf, 0.0)  # y_c - cell <= 0
        if single[c]:
            row([n + m + c, int(cols[0])], [1.0, -1.0], 0.0, inf)  # z_c - x_c >= 0
    h.addRows(len(row_lo), np.array(row_lo), np.array(row_hi), len(index), np.array(starts[:-1], dtype=np.int32),
              np.array(index, dtype=np.int32), np.array(value))
    everything = np.arange(n + 2 * m, dtype=np.int32)

    def solve(cost: np.ndarray, sense) -> tuple[float, np.ndarray | None]:
        h.changeColsCost(everything.size, everything, cost)
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return (np.inf if sense == highspy.ObjSense.kMaximize else -np.inf), None
        raise RuntimeError(f"the suppression audit's linear programme failed: {status}")

    def cell_values(x: np.ndarray) -> np.ndarray:
        return np.array([x[cols].sum() for cols in check_cols])

    high = np.full(m, np.nan)
    low = np.full(m, np.nan)
    if not exact:
        todo = np.ones(m, dtype=bool)
        while todo.any():  # maximise the sum of min(cell, threshold) over the cells not proven yet
            cost = np.zeros(n + 2 * m)
            cost[n + np.flatnonzero(todo)] = 1.0
            _, x = solve(cost, highspy.ObjSense.kMaximize)
            if x is None:
                break
            reached = todo & (cell_values(x) >= need - _EPS)
            if not reached.any():
                break
            high[reached] = cell_values(x)[reached] + const[reached]
            todo &= ~reached
        todo = single & small & (problem.values[checks] > 1)  # an atom of 1 is at 1 already
        done = single & small & ~todo
        low[done] = problem.values[checks][done]
        while todo.any():  # minimise the sum of max(atom, 1) over the atoms not proven yet
            cost = np.zeros(n + 2 * m)
            cost[n + m + np.flatnonzero(todo)] = 1.0
            _, x = solve(cost, highspy.ObjSense.kMinimize)
            values = cell_values(x)
            reached = todo & (values <= 1 + _EPS)
            if not reached.any():
                break
            low[reached] = values[reached] + const[reached]
            todo &= ~reached
    for c in range(m):
        cost = np.zeros(n + 2 * m)
        cost[check_cols[c]] = 1.0
        if np.isnan(high[c]):
            high[c] = solve(cost, highspy.ObjSense.kMaximize)[0] + const[c]
        moves_up = high[c] >= problem.values[checks[c]] + 1 - _EPS
        if np.isnan(low[c]) and ((single[c] and small[c]) or exact or (not small[c] and not moves_up)):
            low[c] = solve(cost, highspy.ObjSense.kMinimize)[0] + const[c]
    low = np.where(np.isnan(low), problem.values[checks], low)
    return [(int(r), float(lo), float(hi)) for r, lo, hi in zip(checks, low, high)]
