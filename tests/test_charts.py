"""The chart builders write plain figure dicts without Plotly's validation (for speed): every builder,
on real engine output, must also build with validation switched on and give the same figure."""

from __future__ import annotations

import json

import plotly.io as pio
import polars as pl
import pytest

import indicators
from indicators import Period, load_catalogue
from ui import charts

HF = "troms-ofoten"
CATALOGUE = load_catalogue()


def _labels() -> dict[str, str]:
    hf = indicators.data.helsefellesskap(indicators.current_key())
    return dict(zip(hf["helsefellesskap_id"].to_list(), hf["kortnavn"].to_list()))


def _ranked_bars():
    table = indicators.compute("kreft_sp1_behovskartlegging", "kommune", years=[2024]).head(40)
    return charts.ranked_bars(table, CATALOGUE.indicator("kreft_sp1_behovskartlegging"), period="2024",
                              labels={}, highlight=table["area_id"][3], synthetic=True, level_name="kommuner")


def _trend_chart():
    ind = CATALOGUE.indicator("eldre_oh_innleggelser_80")
    return charts.trend_chart(indicators.compute(ind.id, "helsefellesskap"), indicators.compute(ind.id, "land"), ind,
                              labels=_labels(), highlight=HF, synthetic=True, target=300.0)


def _small_multiples():
    panels = [{"indicator": i, "series": indicators.compute(i.id, "helsefellesskap").filter(pl.col("area_id") == HF),
               "national": indicators.compute(i.id, "land")} for i in CATALOGUE.in_group("skropelige_eldre")]
    return charts.small_multiples(panels, title="Skrøpelige eldre", subtitle="Alle år", area_name="Troms og Ofoten",
                                  target=50.0)


def _funnel_plot():
    ind = CATALOGUE.indicator("eldre_reinnleggelse_30d_67")
    funnel = indicators.funnel(ind.id, "kommune", Period(2024, 2024))
    return charts.funnel_plot(funnel.points, funnel.limits, funnel.target, ind, period="2024", synthetic=True,
                              scope_label="hele landet")


def _coverage_multiples():
    ind = CATALOGUE.indicator("kreft_sp1_behovskartlegging")
    table = indicators.compute(ind.id, "helsefellesskap")
    order = list(dict.fromkeys(table["area_id"].to_list()))
    return charts.coverage_multiples(table, indicators.compute(ind.id, "land"), ind, labels=_labels(), order=order,
                                     target=80.0, target_label="Mål", synthetic=True, highlight=HF)


def _reporting_bars():
    ind = CATALOGUE.indicator("kreft_sp2_behovskartlegging")
    table = indicators.compute(ind.id, "helsefellesskap", years=[2024])
    assert table["value"].null_count() and table["value"].drop_nulls().len()  # both kinds of bar
    return charts.reporting_bars(table, ind, labels=_labels(), period="2024", synthetic=True, target=60.0)


BUILDERS = [_ranked_bars, _trend_chart, _small_multiples, _funnel_plot, _coverage_multiples, _reporting_bars]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_every_chart_is_a_valid_plotly_figure(monkeypatch, build):
    fast = json.loads(pio.to_json(build(), validate=False))
    monkeypatch.setattr(charts, "VALIDATE", True)
    validated = json.loads(pio.to_json(build(), validate=False))  # raises on any unknown or invalid property
    assert fast == validated
    assert fast["data"] and fast["layout"]["title"]["text"]


@pytest.mark.parametrize("n_panels", [1, 4, 30, 120])
def test_small_multiples_many_panels(n_panels):
    """An imported atlas can put a hundred indicators in one group: the grid still fits the figure."""
    ind = CATALOGUE.indicators[0]
    rows = pl.DataFrame({"year_start": [2020, 2021], "value": [1.0, 2.0], "lower_95": [0.5, 1.5], "upper_95": [1.5, 2.5]})
    fig = charts.small_multiples([{"indicator": ind, "series": rows, "national": rows}] * n_panels,
                                 title="t", subtitle="s", area_name="A")
    domains = [fig.layout[name].domain for name in fig.layout if name.startswith("yaxis")]
    assert len(domains) >= n_panels
    assert all(0 <= low < high <= 1 for low, high in domains)
    heights = [high - low for low, high in domains]
    assert min(heights) > 0.3 / ((n_panels + 2) // 3)  # every panel keeps a real share of the height
