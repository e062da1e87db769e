"""The UpSet chart of the overlap between the four priority groups (ui/upset.py): structure, order,
hidden cells (never drawn or written as 0), the table twin and the text alternative."""

from __future__ import annotations

import itertools

import plotly.graph_objects as go
import polars as pl
import pytest

from ui import upset

NAMES = ["Barn og unge", "Psykiske lidelser", "Skrøpelige eldre", "Multimorbiditet"]
COMBINATIONS = ["".join(bits) for bits in itertools.product("01", repeat=4) if "1" in bits]


def _cells(hidden: set[str] = frozenset(), zero: set[str] = frozenset(), not_reported: set[str] = frozenset()) -> pl.DataFrame:
    persons, flags = [], []
    for n, combination in enumerate(COMBINATIONS):
        if combination in hidden or combination in not_reported:
            persons.append(None)
            flags.append("not_reported" if combination in not_reported else "suppressed")
        else:
            persons.append(0 if combination in zero else 100 * (n + 1) + 7)
            flags.append("ok")
    return pl.DataFrame({"area_id": ["x"] * 15, "area_name": ["X"] * 15, "combination": COMBINATIONS,
                         "persons": persons, "flag": flags}, schema_overrides={"persons": pl.Int64})


def _figure(cells: pl.DataFrame, sizes=(1000, 2000, 3000, 4000)) -> go.Figure:
    fig = upset.upset_figure(cells, NAMES, set_sizes=sizes, title="Overlapp", subtitle="Syntetisk")
    return go.Figure(fig.to_dict())  # validates every property, as Plotly does with validation on


def _bars(fig: go.Figure) -> go.Bar:
    return next(t for t in fig.data if t.type == "bar" and t.yaxis == "y")


def test_bars_are_ordered_largest_first_with_one_bar_per_shown_combination():
    fig = _figure(_cells())
    bars = _bars(fig)
    assert len(bars.y) == 15
    assert list(bars.y) == sorted(bars.y, reverse=True)
    assert list(bars.x) == list(range(15))
    assert bars.text[0] == "1 507".replace(" ", "\u2009")  # the largest: the last combination, Norwegian format


def test_the_dot_matrix_marks_exactly_the_groups_of_each_combination():
    cells = _cells()
    fig = _figure(cells)
    order = [r["combination"] for r in upset.ordered_cells(cells)]
    members = [t for t in fig.data if t.type == "scatter" and t.yaxis == "y2" and t.mode == "lines+markers"]
    assert len(members) == 15
    for position, trace in enumerate(members):
        assert set(trace.x) == {position}
        assert sorted(trace.y) == [g for g, bit in enumerate(order[position]) if bit == "1"]
    background = next(t for t in fig.data if t.type == "scatter" and t.yaxis == "y2" and t.mode == "markers")
    assert len(background.x) == 15 * 4  # every group under every bar
    assert list(fig.layout.yaxis2.ticktext) == NAMES


def test_set_size_bars_show_each_group_and_mark_a_hidden_one():
    fig = _figure(_cells(), sizes=(1000, None, 3000, 4000))
    sets = next(t for t in fig.data if t.type == "bar" and t.xaxis == "x2")
    assert list(sets.y) == [0, 1, 2, 3]
    assert sets.x[1] is None  # no bar for the hidden group, not a bar of 0
    assert "skjult" in sets.text[1]
    marks = [t for t in fig.data if t.type == "scatter" and t.xaxis == "x2"]
    assert marks and list(marks[0].y) == [1] and "skjult" in marks[0].text[0]


def test_hidden_cells_are_marked_never_drawn_as_zero_and_come_last():
    hidden = {"1111", "0110"}
    cells = _cells(hidden=hidden, zero={"1010"}, not_reported={"1001"})
    fig = _figure(cells)
    bars = _bars(fig)
    order = [r["combination"] for r in upset.ordered_cells(cells)]
    assert set(order[-3:]) == hidden | {"1001"}  # hidden and unreported after every number
    assert len(bars.y) == 12  # no bar at all for the three without a number
    assert 0 in list(bars.y)  # a true zero is a number (0), drawn and written as 0
    assert bars.text[list(bars.y).index(0)] == "0"
    marks = next(t for t in fig.data if t.type == "scatter" and t.yaxis == "y" and t.mode == "text")
    assert sorted(marks.x) == [12, 13, 14]
    assert sum("skjult" in t for t in marks.text) == 2 and sum("ikke" in t for t in marks.text) == 1
    assert all(y > 0 for y in marks.y)  # the mark floats above the axis, not a bar at 0


def test_table_twin_holds_the_chart_numbers_and_hides_as_skjult():
    cells = _cells(hidden={"0101"})
    frame = upset.overlap_table(cells, NAMES)
    assert list(frame.columns) == ["Kombinasjon", *NAMES, "Antall grupper", "Personer"]
    assert len(frame) == 15
    row = frame[frame["Kombinasjon"] == "Psykiske lidelser + Multimorbiditet"].iloc[0]
    assert row["Personer"] == ": skjult"
    assert (row["Psykiske lidelser"], row["Multimorbiditet"], row["Barn og unge"]) == ("✓", "✓", "")
    assert row["Antall grupper"] == 2
    assert "0" not in set(frame["Personer"])  # nothing was hidden as 0
    single = frame[frame["Kombinasjon"] == "Bare skrøpelige eldre"].iloc[0]
    persons = cells.filter(pl.col("combination") == "0010")["persons"][0]
    assert single["Personer"].replace("\u2009", "") == str(persons)


def test_alt_text_names_the_largest_combination_and_the_hidden_count():
    alt = upset.overlap_alt(_cells(hidden={"0001", "0011"}), NAMES, "Finnmark")
    assert "Finnmark" in alt and "15 kombinasjoner" in alt
    assert "Barn og unge + Psykiske lidelser + Skrøpelige eldre + Multimorbiditet" in alt
    assert "2 kombinasjoner er skjult" in alt


@pytest.mark.parametrize("combination, name", [
    ("1000", "Bare barn og unge"),
    ("0101", "Psykiske lidelser + Multimorbiditet"),
    ("1111", "Barn og unge + Psykiske lidelser + Skrøpelige eldre + Multimorbiditet"),
])
def test_combination_names(combination, name):
    assert upset.combination_name(combination, NAMES) == name


def test_no_set_sizes_leaves_out_the_left_bars():
    fig = upset.upset_figure(_cells(), NAMES, set_sizes=None, title="T", subtitle="S")
    assert not [t for t in fig.data if getattr(t, "xaxis", None) == "x2"]
