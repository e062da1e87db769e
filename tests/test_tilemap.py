"""The tile map of Oslo's bydeler (ui/tilemap.py): every bydel once, coloured like the maps."""

from __future__ import annotations

import polars as pl

from data_loaders.reference import load_bydeler
from indicators.catalogue import load_catalogue
from ui import maps, theme, tilemap


def _table(values: dict[str, float | None]) -> pl.DataFrame:
    names = dict(zip(load_bydeler()["bydel"], load_bydeler()["bydelsnavn"]))
    rows = []
    for code, value in values.items():
        rows.append({"area_id": code, "area_name": names[code], "value": value,
                     "lower_95": None if value is None else value - 1, "upper_95": None if value is None else value + 1,
                     "national_value": 15.0, "significance": "not_compared" if value is None else "similar",
                     "assessment": "not_compared" if value is None else "similar",
                     "flag": "suppressed" if value is None else "ok",
                     "flag_label": "Skjult av personvernhensyn" if value is None else ""})
    return pl.DataFrame(rows)


def test_every_oslo_bydel_has_its_own_tile():
    assert set(tilemap.OSLO_BYDEL_TILES) == set(load_bydeler()["bydel"])
    positions = list(tilemap.OSLO_BYDEL_TILES.values())
    assert len(positions) == len(set(positions))
    # Roughly geographic: Grorud and Stovner (Ahus's area) in the north-east, Søndre Nordstrand furthest south.
    col, row = tilemap.OSLO_BYDEL_TILES["030111"]
    assert col == max(c for c, _ in positions) and row <= 1
    assert tilemap.OSLO_BYDEL_TILES["030115"][1] == max(r for _, r in positions)


def test_tiles_carry_names_values_and_the_map_colours():
    ind = load_catalogue().indicator("eldre_reinnleggelse_30d_67")
    codes = list(tilemap.OSLO_BYDEL_TILES)
    table = _table({c: (None if c == "030116" else 10.0 + i) for i, c in enumerate(codes)})
    fig = tilemap.tile_figure(table, ind, tilemap.OSLO_BYDEL_TILES, title="t", subtitle="s",
                              groups={"030110": "Akershus"})
    assert len(fig.layout.shapes) == 18 and len(fig.layout.annotations) == 18
    texts = [a.text for a in fig.layout.annotations]
    assert any("Grorud" in t and "Akershus" in t for t in texts)
    sentrum = next(t for t in texts if "Sentrum" in t)
    assert "–" in sentrum  # hidden: a dash, never 0
    grey = theme.hex_to_rgba(theme.SUPPRESSED_FILL, 255)
    fills = [s.fillcolor for s in fig.layout.shapes]
    assert fills.count(f"rgba({grey[0]},{grey[1]},{grey[2]},1.000)") == 1
    props = maps.area_properties(table, ind, colour_by="significance", key="area_id")
    similar = theme.hex_to_rgba(theme.assessment_colour("similar"), 255)
    assert list(props.filter(pl.col("area_id") == "030101")["fill_color"][0]) == similar
