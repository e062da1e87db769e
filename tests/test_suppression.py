"""Property tests: an outsider with an LP solver can neither pin a small count nor prove it small.

``tests.attacker`` is the outsider (SciPy's linprog, written apart from ``indicators.suppression``):
it knows every published cell, that counts are whole and that zeros are shown, and bounds every
hidden small count. The protection rule: a hidden atom with a count from 1 to threshold − 1 can
be 1 and can be at least the threshold; a hidden small total can be at least the threshold.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from indicators.suppression import SECONDARY, SMALL_COUNT, Problem, protect
from tests.attacker import Attack

THRESHOLD = 5


def build(cells: list[list[int]], values, cost_levels=None, **kwargs) -> Problem:
    """A problem from cells (lists of atom indices); the first cells must be the atoms' own."""
    rows = cells
    matrix = sparse.lil_matrix((len(rows), len(values)))
    for r, atoms in enumerate(rows):
        for a in atoms:
            matrix[r, a] = 1.0
    levels = cost_levels or [0 if len(r) == 1 else 3 for r in rows]
    totals = sparse.csr_matrix(matrix) @ np.asarray(values, dtype=float)
    cost = [(levels[r], float(totals[r]), r) for r in range(len(rows))]
    return Problem(sparse.csr_matrix(matrix), values, kwargs.pop("thresholds", THRESHOLD), cost, **kwargs)


def attack(problem: Problem, hidden: set[int], bounds=(), everything: bool = False,
           equalities=None) -> dict[int, tuple[float, float]]:
    """The outsider's interval of every hidden cell with a true count from 1 to threshold − 1 (or of
    every hidden cell)."""
    a = problem.incidence
    values = problem.atom_values
    own = {int(a.indices[a.indptr[r]]): r for r in range(a.shape[0]) if a.indptr[r + 1] - a.indptr[r] == 1}
    unknown = {atom for atom, cell in own.items() if cell in hidden}
    outsider = Attack()
    for r in range(a.shape[0]):
        if r in hidden:
            continue
        atoms = a.indices[a.indptr[r]:a.indptr[r + 1]]
        known = sum(values[x] for x in atoms if x not in unknown)
        outsider.equation([x for x in atoms if x in unknown], problem.values[r] - known)
    for atom in unknown:
        if problem.atom_lower[atom] < 1:
            outsider.lower[atom] = float(problem.atom_lower[atom])
    for i, j in bounds:
        if i in unknown and j in unknown:
            outsider.less_equal.append((i, j))
        elif i in unknown:
            outsider.upper[i] = min(outsider.upper.get(i, np.inf), values[j])
        elif j in unknown:
            outsider.lower[j] = max(outsider.lower.get(j, float(problem.atom_lower[j])), values[i])
    for total, parts in (problem.equalities if equalities is None else equalities):
        terms = [(total, 1.0)] + [(p, -1.0) for p in parts]
        known = sum(c * values[x] for x, c in terms if x not in unknown)
        outsider.linear_equation([(x, c) for x, c in terms if x in unknown], -known)
    small = [r for r in sorted(hidden) if everything or 0 < problem.values[r] < problem.thresholds[r]]
    targets = [tuple(x for x in a.indices[a.indptr[r]:a.indptr[r + 1]] if x in unknown) for r in small]
    return dict(zip(small, outsider.bounds(targets)))


def assert_protected(problem: Problem, reasons: dict, bounds=()) -> None:
    hidden = set(reasons)
    a = problem.incidence
    primary = {r for r in range(a.shape[0]) if 0 < problem.values[r] < problem.thresholds[r] and not problem.frozen[r]}
    assert primary <= hidden, "every small count is hidden"
    if not problem.rows:  # (a row hides its numerator with its denominator, zero or not)
        assert all(problem.values[r] > 0 for r in hidden if not problem.frozen[r]), "a zero is never hidden"
    for cell, (low, high) in attack(problem, hidden, bounds, everything=True).items():
        if problem.frozen[cell]:
            continue
        if cell not in primary:  # the rank guarantee: no hidden cell follows from the published ones
            assert low < high, f"hidden cell {cell} ({problem.values[cell]:g}) is pinned"
            continue
        assert high >= problem.thresholds[cell], f"cell {cell} ({problem.values[cell]:g}) proven below the threshold: max {high}"
        derived = {t for t, _ in problem.equalities}  # a cohort is the sum of its combinations, a total
        if a.indptr[cell + 1] - a.indptr[cell] == 1 and a.indices[a.indptr[cell]] not in derived:
            assert low <= 1, f"atom {cell} ({problem.values[cell]:g}) proven at least {low}"


@st.composite
def tables(draw):
    """Units in up to four overlapping partitions (helsefellesskap, fylke, sentralitet, ...) and a total."""
    n = draw(st.integers(min_value=3, max_value=18))
    values = draw(st.lists(st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 40)), min_size=n, max_size=n))
    rows = [[u] for u in range(n)]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        labels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        for g in sorted(set(labels)):
            rows.append([u for u in range(n) if labels[u] == g])
    rows.append(list(range(n)))
    unique = []  # one cell per set of atoms, as the engine keys them
    for row in rows:
        if row not in unique:
            unique.append(row)
    return unique, values


@given(tables())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_small_count_can_be_pinned_or_proven_small(table):
    rows, values = table
    problem = build(rows, values)
    assert_protected(problem, protect(problem))


@given(tables(), st.integers(min_value=0, max_value=2**31))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_numerators_bounded_by_their_denominators_stay_protected(table, seed):
    """Two counts per unit (numerator <= denominator, as readmissions of discharges), each in every total."""
    rows, dens = table
    rng = np.random.default_rng(seed)
    n = len(dens)
    nums = [int(rng.integers(0, d + 1)) for d in dens]
    both = [[u] for u in range(2 * n)] + [list(r) for r in rows[n:]] + [[u + n for u in r] for r in rows[n:]]
    bounds = [(u, u + n) for u in range(n)]
    problem = build(both, [*nums, *dens], bounds=bounds)
    assert_protected(problem, protect(problem), bounds)


def test_three_small_kommuner_are_no_longer_pinned_by_their_flags():
    """Helse Førde 2019, KOLS: total 366, published kommuner 354, three hidden kommuner of 4 each.

    With one symbol for every hidden count the attacker only knows each is at least 1: each can
    be anything from 1 to 10."""
    problem = build([[0], [1], [2], [3], [0, 1, 2, 3]], [4, 4, 4, 354])
    reasons = protect(problem)
    assert set(reasons) == {0, 1, 2} and set(reasons.values()) == {SMALL_COUNT}
    assert attack(problem, set(reasons)) == {0: (1, 10), 1: (1, 10), 2: (1, 10)}


def test_a_lone_small_count_gets_a_complementary_cell():
    problem = build([[0], [1], [2], [0, 1, 2]], [3, 10, 20])
    reasons = protect(problem)
    assert reasons == {0: SMALL_COUNT, 1: SECONDARY}  # the smallest neighbour that lets it reach 5
    assert attack(problem, set(reasons)) == {0: (1, 12)}


def test_a_pooled_window_whose_years_are_hidden_cannot_pin_them():
    """Vindafjord: three hidden years of 4 and a published window of 12 leave each year in [1, 10]."""
    problem = build([[0], [1], [2], [0, 1, 2]], [4, 4, 4], frozen=np.array([True, True, True, False]),
                    hidden=np.array([True, True, True, False]))
    assert protect(problem) == {}
    assert attack(problem, {0, 1, 2}) == {0: (1, 10), 1: (1, 10), 2: (1, 10)}


def test_a_pooled_window_hides_itself_when_it_would_pin_a_year():
    """One hidden year of 2 beside two published years: the window would give it away, so it is hidden."""
    problem = build([[0], [1], [2], [0, 1, 2]], [2, 30, 40], frozen=np.array([True, True, True, False]),
                    hidden=np.array([True, False, False, False]))
    assert protect(problem) == {3: SECONDARY}


def test_frozen_cells_are_never_changed():
    problem = build([[0], [1], [2], [0, 1, 2]], [2, 30, 40], frozen=np.array([False, True, True, True]))
    reasons = protect(problem)
    assert reasons == {0: SMALL_COUNT}  # nothing else may be hidden; the audit cannot do more


def test_a_count_shared_by_two_indicators_is_one_cell():
    """Bykle 2021: discharges 20, readmissions 10 and follow-ups 6 published, a small count between them.

    One denominator for two indicators is one atom: hiding it in one and showing it in the other is
    impossible by construction, and the numerators stay within it."""
    # atoms: discharges (0), readmissions (1), follow-ups (2) of Bykle; a neighbour's three (3, 4, 5).
    rows = [[0], [1], [2], [3], [4], [5], [0, 3], [1, 4], [2, 5]]
    values = [4, 2, 3, 40, 12, 30]
    bounds = [(1, 0), (2, 0), (4, 3), (5, 3)]
    problem = build(rows, values, bounds=bounds)
    reasons = protect(problem)
    assert {0, 1, 2} <= set(reasons)
    assert_protected(problem, reasons, bounds)


def test_a_row_hides_its_numerator_with_its_denominator():
    """A proportion's row shows both counts or neither: the zero numerator of a hidden denominator is
    hidden too, and the attacker only knows it is at least 0."""
    # atoms: numerators of units 0-2 (0, 1, 2), denominators (3, 4, 5); cells: the six atoms, both totals.
    rows = [[0], [1], [2], [3], [4], [5], [0, 1, 2], [3, 4, 5]]
    values = [0, 6, 7, 3, 20, 25]
    bounds = [(0, 3), (1, 4), (2, 5)]
    output_rows = [(0, 3), (1, 4), (2, 5), (6, 7)]
    problem = build(rows, values, bounds=bounds, rows=output_rows, atom_lower=[0, 0, 0, 1, 1, 1])
    reasons = protect(problem)
    assert {0, 3} <= set(reasons), "the small denominator and, with it, its zero numerator"
    assert reasons[3] == SMALL_COUNT and reasons[0] == SECONDARY
    assert_protected(problem, reasons, bounds)


@st.composite
def cohorts(draw):
    """Units with 2-4 overlapping priority groups: persons in exactly each combination of groups per unit
    (the atoms the overlap publishes), each group's persons (= the sum of the combinations that contain
    it, a stated equality), and per group the persons with a service (<= the group) and their events
    (>= the persons). Cells: every atom, the union of each unit, and every measure summed over 1-2
    partitions of the units and the whole."""
    n = draw(st.integers(min_value=2, max_value=6))
    k = draw(st.integers(min_value=2, max_value=4))
    combos = list(range(1, 2**k))
    small_or_large = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 30))
    overlap = [[draw(small_or_large) for _ in combos] for _ in range(n)]
    atoms: list[int] = []
    index = {}

    def atom(key, value):
        index[key] = len(atoms)
        atoms.append(int(value))

    for u in range(n):
        for c in combos:
            atom(("overlap", c, u), overlap[u][c - 1])
    equalities, bounds = [], []
    for g in range(k):
        members = [c for c in combos if c >> g & 1]
        for u in range(n):
            size = sum(overlap[u][c - 1] for c in members)
            atom(("group", g, u), size)
            equalities.append((index[("group", g, u)], [index[("overlap", c, u)] for c in members]))
            persons = draw(st.integers(0, size))
            atom(("persons", g, u), persons)
            atom(("events", g, u), persons + draw(st.integers(0, 6)))
            bounds += [(index[("persons", g, u)], index[("group", g, u)]),
                       (index[("persons", g, u)], index[("events", g, u)])]
    rows = [[a] for a in range(len(atoms))]
    partitions = [list(range(n))]
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        labels = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
        partitions += [[u for u in range(n) if labels[u] == label] for label in sorted(set(labels))]
    kinds = [("overlap", c) for c in combos] + [(m, g) for g in range(k) for m in ("group", "persons", "events")]
    for units in partitions:
        for kind, which in kinds:
            rows.append([index[(kind, which, u)] for u in units])
        rows.append([index[("overlap", c, u)] for c in combos for u in units])  # the union
    for u in range(n):
        rows.append([index[("overlap", c, u)] for c in combos])
    unique = []
    for row in rows:
        if sorted(row) not in unique:
            unique.append(sorted(row))
    return unique, atoms, equalities, bounds


@given(cohorts())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_cohorts_and_their_overlap_stay_protected(table):
    """The attacker knows that each group is the sum of its combinations and that the union is their sum,
    and that service persons are at most the group and at most the events: no hidden count of 1-4 can be
    narrowed below 5 (or, alone, above 1), and no hidden cell is pinned."""
    rows, values, equalities, bounds = table
    problem = build(rows, values, bounds=bounds, equalities=equalities)
    assert_protected(problem, protect(problem), bounds)


def test_a_group_hidden_alone_would_follow_from_its_combinations():
    """One unit, two groups: combinations 01 = 3, 10 = 20, 11 = 12; group A (01 + 11) = 15, group B = 32.

    The small combination 01 is hidden; A = 01 + 11 would give it back, so more must go, and the
    attacker with the equalities still cannot narrow it."""
    # atoms: overlap 01, 10, 11 (0, 1, 2); group A (3), group B (4)
    rows = [[0], [1], [2], [3], [4], [0, 1, 2]]
    values = [3, 20, 12, 15, 32]
    equalities = [(3, [0, 2]), (4, [1, 2])]
    problem = build(rows, values, equalities=equalities)
    reasons = protect(problem)
    assert 0 in reasons and reasons[0] == SMALL_COUNT
    assert len(reasons) >= 3
    assert_protected(problem, reasons)
    # without the equalities the same hiding would not be audited against them: the attacker pins nothing
    low, high = attack(problem, set(reasons))[0]
    assert low <= 1 and high >= THRESHOLD


def test_an_equality_that_does_not_hold_is_refused():
    import pytest

    with pytest.raises(ValueError, match="equality"):
        build([[0], [1], [2]], [3, 4, 8], equalities=[(2, [0, 1])])
