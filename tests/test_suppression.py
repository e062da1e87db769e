"""Property tests: no suppressed count can be recovered from published totals and siblings."""

from __future__ import annotations

import numpy as np
from scipy.linalg import null_space
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.suppression import Relation, suppress


def recoverable(masked: set, relations: list[Relation], present: set) -> list:
    """Masked cells whose value is fixed by the published ones (independent null-space test).

    A masked cell x_i is determined by the relations exactly when the unit vector e_i lies
    in the row space of the relations restricted to the masked cells, that is, when e_i is
    orthogonal to their null space: row i of a null-space basis is zero. (Equivalently,
    adding e_i as a row does not raise the rank; one null space answers for every cell.)
    """
    unknown = sorted(masked & present, key=str)
    if not unknown:
        return []
    index = {k: i for i, k in enumerate(unknown)}
    rows = []
    for rel in relations:
        if rel.parent not in present:
            continue
        row = np.zeros(len(unknown))
        if rel.parent in index:
            row[index[rel.parent]] = -1
        for child in rel.children:
            if child in index:
                row[index[child]] += 1
        rows.append(row)
    if not rows:
        return []
    basis = null_space(np.array(rows))  # unknown x nullity
    free = np.abs(basis).max(axis=1, initial=0.0) > 1e-8
    return [cell for cell, i in index.items() if not free[i]]


@given(st.lists(st.lists(st.integers(min_value=-1, max_value=1), min_size=6, max_size=6), min_size=0, max_size=7))
@settings(max_examples=150, deadline=None)
def test_the_null_space_checker_agrees_with_the_rank_definition(coefficients):
    """recoverable() against its definition: a cell is determined when adding its unit vector keeps the rank."""
    cells = [("c", i) for i in range(6)]
    relations, published = [], set()
    for n, row in enumerate(coefficients):
        total = ("t", n)
        published.add(total)  # a published total: the relation reads total = sum of its masked children
        relations.append(Relation(total, tuple(c for c, v in zip(cells, row) if v)))
    matrix = np.array([[1.0 if c in rel.children else 0.0 for c in cells] for rel in relations]).reshape(-1, 6)
    base = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    by_rank = [c for i, c in enumerate(cells)
               if np.linalg.matrix_rank(np.vstack([matrix, np.eye(6)[i]])) == base]
    assert sorted(recoverable(set(cells), relations, set(cells) | published)) == sorted(by_rank)


@st.composite
def hierarchies(draw):
    """Kommuner grouped two ways (like helsefellesskap and fylke), both summing to a country."""
    n = draw(st.integers(min_value=2, max_value=14))
    kommuner = [("kommune", f"k{i}") for i in range(n)]
    counts = draw(st.lists(st.integers(min_value=0, max_value=40), min_size=n, max_size=n))
    # Many small counts: skew towards the threshold region.
    counts = [c if c % 3 else c // 8 for c in counts]
    groups_a = draw(st.lists(st.integers(min_value=0, max_value=3), min_size=n, max_size=n))
    groups_b = draw(st.lists(st.integers(min_value=0, max_value=2), min_size=n, max_size=n))
    numerators = dict(zip(kommuner, map(float, counts)))
    relations = []
    for level, assignment in (("hf", groups_a), ("fylke", groups_b)):
        parents = []
        for g in sorted(set(assignment)):
            children = tuple(k for k, a in zip(kommuner, assignment) if a == g)
            parent = (level, f"{level}{g}")
            numerators[parent] = sum(numerators[c] for c in children)
            relations.append(Relation(parent, children))
            parents.append(parent)
        land = ("land", "0")
        relations.append(Relation(land, tuple(parents)))
    numerators[("land", "0")] = float(sum(counts))
    threshold = draw(st.integers(min_value=2, max_value=10))
    return numerators, relations, threshold


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies())
def test_no_masked_count_is_recoverable(case):
    numerators, relations, threshold = case
    denominators = {k: v * 10 + 50 for k, v in numerators.items()}
    masked = suppress(numerators, denominators, relations, threshold, protect_denominator=False)
    present = set(numerators)
    # Every small count is masked.
    for key, value in numerators.items():
        if 0 < value < threshold:
            assert key in masked, key
    # No relation with a published total has exactly one masked member, or masked members
    # that together hold fewer than the threshold.
    for rel in relations:
        if rel.parent in masked:
            continue
        hidden = [c for c in rel.children if c in masked]
        if hidden:
            assert len(hidden) >= 2, (rel, hidden)
            total = sum(numerators[c] for c in hidden)
            assert total == 0 or total >= threshold, (rel, hidden, total)
    # No masked cell follows from the published ones through the linear relations.
    assert recoverable(set(masked), relations, present) == []


@settings(max_examples=150, deadline=None)
@given(hierarchies())
def test_sensitive_denominators_are_protected_too(case):
    numerators, relations, threshold = case
    denominators = {k: v + (k[1].endswith("1") and k[0] == "kommune") * 2 for k, v in numerators.items()}
    masked = suppress(numerators, denominators, relations, threshold, protect_denominator=True)
    for key, den in denominators.items():
        if 0 < den < threshold:
            assert key in masked
    for rel in relations:
        if rel.parent in masked:
            continue
        hidden = [c for c in rel.children if c in masked]
        if hidden:
            total = sum(denominators[c] for c in hidden)
            assert len(hidden) >= 2 and (total == 0 or total >= threshold)


def test_a_single_small_kommune_gets_a_complementary_cell():
    kommuner = [("kommune", k) for k in ("a", "b", "c")]
    numerators = {kommuner[0]: 2.0, kommuner[1]: 40.0, kommuner[2]: 9.0, ("hf", "h"): 51.0}
    masked = suppress(numerators, {}, [Relation(("hf", "h"), tuple(kommuner))], 5, protect_denominator=False)
    # 'a' is primary; the smallest other kommune (c, 9) hides it from h - b.
    assert masked == {kommuner[0]: "small_count", kommuner[2]: "secondary"}


def test_a_parent_with_one_child_is_hidden_with_it():
    child, parent, land = ("kommune", "oslo"), ("hf", "oslo"), ("land", "0")
    other = ("hf", "x")
    numerators = {child: 3.0, parent: 3.0, other: 100.0, land: 103.0}
    relations = [Relation(parent, (child,)), Relation(land, (parent, other))]
    masked = suppress(numerators, {}, relations, 5, protect_denominator=False)
    assert set(masked) == {child, parent, other}


def test_forced_cells_are_masked_and_protected():
    kommuner = [("kommune", k) for k in ("a", "b", "c")]
    numerators = {kommuner[0]: 50.0, kommuner[1]: 40.0, kommuner[2]: 90.0, ("hf", "h"): 180.0}
    masked = suppress(numerators, {}, [Relation(("hf", "h"), tuple(kommuner))], 5, False, forced=[kommuner[0]])
    # A forced cell is hidden like a small one, and its smallest sibling hides it from the total.
    assert masked == {kommuner[0]: "forced", kommuner[1]: "secondary"}


def test_not_reported_cells_take_no_part():
    a, b, h = ("kommune", "a"), ("kommune", "b"), ("hf", "h")
    masked = suppress({a: 30.0, h: 30.0}, {}, [Relation(h, (a, b))], 5, protect_denominator=False)
    assert masked == {}
