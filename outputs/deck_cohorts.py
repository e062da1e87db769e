"""The SSU deck's slides on the priority groups' cohorts (issue 15): one slide each at most for

- the cohort sizes: persons in each cohort in the helsefellesskap and its share of the population,
  against the country;
- the use of services per person: a matrix of services (rows) by the four groups (columns), the
  helsefellesskap's value with the country's beside it, significance by symbol, words and colour;
- the overlap between the four groups: persons in exactly each combination, for the helsefellesskap
  and the country (``indicators.overlap.overlap_table``).

Every number comes from the public engine (already suppressed): a hidden count is ": skjult", never 0.
Slides without data are left out.
"""

from __future__ import annotations

import polars as pl

from indicators.engine import IndicatorRequestError
from indicators.formatting import MISSING, decimals_for, format_number

HIDDEN = ": skjult"
SERVICE_COHORTS = ("barn_og_unge", "psykisk_lidelse", "rus_tsb", "skropelige_eldre", "multimorbiditet")


def _deck():
    from outputs import deck  # the deck's layout helpers (imported late: deck imports this module)

    return deck


def _persons(row: dict | None) -> str:
    if row is None:
        return MISSING
    if row.get("numerator") is None:
        return HIDDEN if row.get("flag") not in (None, "ok", "not_reported") else MISSING
    return format_number(row["numerator"], 0)


def _value(row: dict | None, *, national: bool = False) -> str:
    if row is None:
        return MISSING
    value = row.get("national_value" if national else "value")
    if value is None:
        return HIDDEN if not national and row.get("flag") not in (None, "ok", "not_reported") else MISSING
    return format_number(value, decimals_for(row.get("unit") or ""))


def _ages(cohort) -> str:
    return f"{cohort.age_min or 0}+ år" if cohort.age_max is None else f"{cohort.age_min or 0}–{cohort.age_max} år"


def service_name(ind) -> str:
    """``"Innlagt ø.hj. (skrøpelige eldre)"`` -> ``"Innlagt ø.hj."``: the service, without the cohort."""
    return ind.short_name.split(" (")[0]


def service_key(indicator_id: str) -> str:
    """``"kohort_skropelige_eldre__innlagt_oh"`` -> ``"innlagt_oh"``."""
    return indicator_id.split("__", 1)[1] if "__" in indicator_id else indicator_id


def sizes_slide(deck, rows: dict[str, dict]) -> bool:
    d = _deck()
    ctx = deck.ctx
    cat = d.load_catalogue()
    cohorts = [c for c in getattr(cat, "cohorts", ()) if _prevalence(cat, c.id) is not None]
    if not cohorts or not any(rows.get(_prevalence(cat, c.id).id) for c in cohorts):
        return False
    slide = deck.slide("Pasientgruppene: hvor mange de er",
                       f"Personer i hver pasientgruppe i {ctx.hf_short} og andel av befolkningen i gruppens alder, "
                       f"mot hele landet (siste år til og med {ctx.end})")
    headers = ["Pasientgruppe", "Alder", "År", f"Personer, {ctx.hf_short}", "Andel %", "Landet %",
               "Sammenlignet med landet", "Rang"]
    widths = [3.6, 0.9, 0.6, 1.7, 0.95, 0.95, 2.6, 1.1]
    grid = d._table(slide, len(cohorts) + 1, widths, 0.45, 1.4, 0.42)
    for j, header in enumerate(headers):
        d._cell(grid.cell(0, j), header, bold=True, color="FFFFFF", fill=d.NAVY,
                align="right" if j in (3, 4, 5, 7) else "left")
    for i, cohort in enumerate(cohorts, start=1):
        row = rows.get(_prevalence(cat, cohort.id).id) or {}
        status, fill, on = d._status(row) if row else ("○ Ingen data", None, d.INK)
        rank = f"{row['rank']} av {row['n_ranked']}" if row.get("rank") is not None else MISSING
        cells = [(cohort.name, {}), (_ages(cohort), {}), (str(row.get("period") or MISSING), {}),
                 (_persons(row), {"align": "right", "bold": True}), (_value(row), {"align": "right", "bold": True}),
                 (_value(row, national=True), {"align": "right"}), (status, {"fill": fill, "color": on}),
                 (rank, {"align": "right"})]
        for j, (text, style) in enumerate(cells):
            d._cell(grid.cell(i, j), text, size=11, bold=style.get("bold", False), color=style.get("color", d.INK),
                    fill=style.get("fill"), align=style.get("align", "left"))
    d._textbox(slide, 0.45, 6.35, 12.4, 0.6, [
        "Pasientgruppene er Helsedirektoratets kohorter: personene som hører til gruppen etter registrene i året. "
        "Utvalgene for barn og unge overlapper; den samlede gruppen teller hver person én gang. "
        "«: skjult» = for få personer til å vises. Definisjoner og kilder: siden «Om dataene».",
    ], size=9, color=d.MUTED)
    return True


def _prevalence(cat, cohort_id: str):
    return next((i for i in cat.indicators if getattr(i, "cohort", None) == cohort_id
                 and getattr(i, "cohort_role", None) == "prevalence"), None)


def services_slide(deck, rows: dict[str, dict]) -> bool:
    d = _deck()
    ctx = deck.ctx
    cat = d.load_catalogue()
    cohorts = [c for c in (next((x for x in getattr(cat, "cohorts", ()) if x.id == cid), None) for cid in SERVICE_COHORTS)
               if c is not None]
    services: dict[str, dict[str, object]] = {}  # service key -> {cohort id: indicator}
    names: dict[str, str] = {}
    for ind in cat.indicators:
        if getattr(ind, "cohort_role", None) in ("share", "per_person") and ind.id in rows:
            services.setdefault(service_key(ind.id), {})[ind.cohort] = ind
            names.setdefault(service_key(ind.id), f"{service_name(ind)} ({'%' if ind.unit == 'percent' else 'per person'})")
    cohorts = [c for c in cohorts if any(c.id in by_cohort for by_cohort in services.values())]
    if not services or not cohorts:
        return False
    slide = deck.slide("Pasientgruppene: bruk av tjenester per person",
                       f"{ctx.hf_short} mot landet (i parentes), siste år til og med {ctx.end}")
    widths = [2.9] + [(12.4 - 2.9) / len(cohorts)] * len(cohorts)
    row_height = min(0.42, 5.0 / (len(services) + 1))
    grid = d._table(slide, len(services) + 1, widths, 0.45, 1.35, row_height)
    d._cell(grid.cell(0, 0), "Tjeneste", bold=True, color="FFFFFF", fill=d.NAVY)
    for j, cohort in enumerate(cohorts, start=1):
        d._cell(grid.cell(0, j), cohort.short_name, bold=True, color="FFFFFF", fill=d.NAVY, size=10)
    for i, (key, by_cohort) in enumerate(services.items(), start=1):
        d._cell(grid.cell(i, 0), names[key], size=10)
        for j, cohort in enumerate(cohorts, start=1):
            ind = by_cohort.get(cohort.id)
            row = rows.get(ind.id) if ind is not None else None
            if row is None:
                d._cell(grid.cell(i, j), "", size=10)
                continue
            status, fill, on = d._status(row)
            symbol = status.split(" ")[0] if row.get("value") is not None else ""
            d._cell(grid.cell(i, j), f"{symbol} {_value(row)} ({_value(row, national=True)})".strip(), size=10,
                    fill=fill, color=on, align="left")
    d._textbox(slide, 0.45, 6.45, 12.4, 0.5, [
        "Andeler: prosent av personene i gruppen med minst én hendelse (Wilson-intervall). Per person: hendelser delt på "
        "personene i gruppen (eksakt Poisson/Byar). ▲/▼ signifikant høyere/lavere enn landet, ● ikke signifikant "
        "forskjellig; blått = bedre, oransje = dårligere der en retning er ønsket. «: skjult» = for få til å vises.",
    ], size=8.5, color=d.MUTED)
    return True


def _overlap(ctx, level: str, year: int) -> pl.DataFrame | None:
    try:
        from indicators.overlap import overlap_table
    except ImportError:
        return None
    try:
        return overlap_table(level, [year], key=ctx.key)
    except IndicatorRequestError:
        return None


def overlap_slide(deck) -> bool:
    d = _deck()
    ctx = deck.ctx
    cat = d.load_catalogue()
    overlap = getattr(cat, "overlap", None)
    if overlap is None:
        return False
    prevalence = _prevalence(cat, overlap.groups[0][0])
    years = [y for y in d.available_years(prevalence.id, ctx.key) if y <= ctx.end] if prevalence is not None else []
    if not years:
        return False
    year = max(years)
    own, land = _overlap(ctx, "helsefellesskap", year), _overlap(ctx, "land", year)
    if own is None or land is None:
        return False
    own = own.filter(pl.col("area_id") == ctx.hf_id)
    if own.height == 0:
        return False

    def persons(table: pl.DataFrame, kind: str, ident: str) -> str:
        match = table.filter((pl.col("kind") == kind) & (pl.col("id") == ident))
        if match.height == 0:
            return MISSING
        r = match.row(0, named=True)
        if r["flag"] != "ok" or r["persons"] is None:
            return "ikke rapportert" if r["flag"] == "not_reported" else HIDDEN
        return format_number(r["persons"], 0)

    combinations = sorted(overlap.combinations, key=lambda c: (-c.id.count("1"), c.id), reverse=True)
    slide = deck.slide("Overlapp mellom de fire pasientgruppene",
                       f"Personer i nøyaktig hver kombinasjon av gruppene, {ctx.hf_short} og hele landet, {year}")
    group_names = [name for _, name in overlap.groups]
    headers = ["Kombinasjon", *group_names, ctx.hf_short, "Hele landet"]
    widths = [4.3] + [1.3] * len(group_names) + [1.5, 1.4]
    n_rows = len(combinations) + 2
    grid = d._table(slide, n_rows, widths, 0.45, 1.3, min(0.3, 5.1 / n_rows))
    for j, header in enumerate(headers):
        d._cell(grid.cell(0, j), header, size=9.5, bold=True, color="FFFFFF", fill=d.NAVY,
                align="left" if j == 0 else "center" if j <= len(group_names) else "right")
    for i, combination in enumerate(combinations, start=1):
        d._cell(grid.cell(i, 0), combination.name, size=9.5)
        for g in range(len(group_names)):
            d._cell(grid.cell(i, 1 + g), "●" if combination.contains(g) else "", size=9.5, align="center",
                    color=d.NAVY)
        d._cell(grid.cell(i, 1 + len(group_names)), persons(own, "combination", combination.id), size=9.5,
                align="right", bold=True)
        d._cell(grid.cell(i, 2 + len(group_names)), persons(land, "combination", combination.id), size=9.5,
                align="right")
    last = n_rows - 1
    d._cell(grid.cell(last, 0), overlap.union_name, size=9.5, bold=True, fill=d.BAND)
    for g in range(len(group_names)):
        d._cell(grid.cell(last, 1 + g), "", size=9.5, fill=d.BAND)
    d._cell(grid.cell(last, 1 + len(group_names)), persons(own, "union", "union"), size=9.5, bold=True,
            align="right", fill=d.BAND)
    d._cell(grid.cell(last, 2 + len(group_names)), persons(land, "union", "union"), size=9.5, align="right",
            fill=d.BAND)
    d._textbox(slide, 0.45, 6.55, 12.4, 0.42, [
        "Hver person telles i én kombinasjon. «: skjult» = for få personer, eller skjult for å beskytte et lite tall "
        "(aldri 0). Summen vises bare der alle kombinasjonene vises. Kilde: " + overlap.source + ".",
    ], size=8.5, color=d.MUTED)
    return True


def cohort_slides(deck, table: pl.DataFrame) -> None:
    """The cohort slides (sizes, services per person, overlap), each only where there is something to show."""
    rows = {r["indicator_id"]: r for r in table.to_dicts()}
    sizes_slide(deck, rows)
    services_slide(deck, rows)
    overlap_slide(deck)
