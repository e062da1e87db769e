"""Sections of the "Om dataene" page: all text comes from the catalogue, the settings and the store."""

from __future__ import annotations

import polars as pl
import streamlit as st

import indicators
from data_loaders.config import settings
from indicators import FLAG_LABELS, POOLING_YEARS
from indicators.catalogue import Catalogue, Indicator

from ui import cache, text, theme

FLAG_MEANING = {
    "ok": ("Vises", "Tallet er publisert."),
    "not_reported": ("Ikke rapportert", "Ingen kommuner i området har rapportert (gjelder særlig lokal registrering av "
                                         "SP2 og SP3). Vises som «–» og aldri som 0."),
    "small_count": ("Anonymisert", "Telleren (eller nevneren) er under terskelen for små tall."),
    "secondary": ("Skjult (sekundær)", "Skjult fordi tallet sammen med summer for andre områder ellers kunne avsløre et "
                                       "anonymisert tall."),
    "forced": ("Skjult (tidsregel)", "Skjult i en sammenslått treårsperiode fordi den sammen med enkeltårene kunne "
                                     "avsløre et anonymisert tall i ett av årene."),
    "too_few_to_standardise": ("For få til å standardisere", "Færre enn 10 hendelser: standardisert rate beregnes ikke, "
                                                            "men den ujusterte raten kan finnes i nedlastingen."),
}


def contents() -> None:
    st.markdown(
        "**Innhold:** [Indikatorene](#indikatorene) · [Anonymisering](#anonymisering-prikking) · "
        "[Standardisering](#standardisering) · [Usikkerhet og sammenligning](#usikkerhet-og-sammenligning) · "
        "[Datagrunnlag og versjoner](#datagrunnlag-og-versjoner) · [Kartgrunnlag](#kartgrunnlag) · "
        "[Pakkeforløp hjem: kommunenes avklaringer](#pakkeforlop-hjem-kommunenes-avklaringer)"
    )


def _term(term, catalogue: Catalogue) -> str:
    parts = [f"{term.label} ({term.age_label}"]
    if term.sex != "all":
        parts.append(", " + {"male": "menn", "female": "kvinner"}[term.sex])
    parts.append(")")
    out = "".join(parts)
    if term.population:
        return out + ". Kilde: befolkningen 1. januar (SSB)."
    measure = catalogue.measures.get(term.measure)
    return out + (f". {measure.definition} Kilde: {measure.source}." if measure else "")


def indicator_rows(ind: Indicator, catalogue: Catalogue) -> list[tuple[str, str]]:
    target = "Ingen"
    if ind.target is not None:
        target = f"{text.value(ind, ind.target.value)} ({ind.target.set_by} satt mål). {ind.target.note}".strip()
    return [
        ("Beskrivelse", ind.description),
        ("Teller", _term(ind.numerator, catalogue)),
        ("Nevner", _term(ind.denominator, catalogue)),
        ("Enhet", text.unit_phrase(ind)),
        ("Type", "Rate" if ind.type == "rate" else "Andel"),
        ("Standardisering", ind.standardisation.label + (
            f" (standardbefolkning: {catalogue.standard_populations.get(ind.standardisation.standard, {}).get('name', '')})"
            if ind.is_standardised else "")),
        ("Konfidensintervall", "Dobson-metoden for standardiserte rater" if ind.is_standardised
         else ("Wilson-intervall for andeler" if ind.type == "proportion"
               else "Eksakt Poisson (under 10 hendelser) eller Byars metode")),
        ("Retning", text.direction(ind)),
        ("Kilde", ind.source),
        ("Mål", target),
        ("Første år", str(ind.first_year) if ind.first_year else "Alle år i databasen"),
        ("Dekning", "Hele landet" if ind.coverage == "complete" else "Bare kommuner som registrerer lokalt"),
        ("Terskel for små tall", f"{ind.suppression_threshold}"),
        ("Indikator-ID", ind.id),
    ]


def indicator_catalogue(catalogue: Catalogue, open_id: str | None = None) -> None:
    st.header("Indikatorene", anchor="indikatorene", divider="gray")
    st.markdown(f"Katalogen har **{len(catalogue.indicators)} indikatorer** i {len(catalogue.groups)} grupper. "
                "Alle tall beregnes fra de samme definisjonene overalt i dashbordet og i nedlastingene. "
                "Tabellen gir oversikten; åpne en indikator under for hele definisjonen.")
    groups = {g.id: g.name for g in catalogue.groups}
    overview = pl.DataFrame(
        [(groups[i.group], i.name, text.unit_phrase(i), i.standardisation.label, text.direction(i), i.source, i.id)
         for i in catalogue.indicators],
        schema=["Gruppe", "Indikator", "Enhet", "Standardisering", "Retning", "Kilde", "ID"], orient="row",
    )
    st.dataframe(overview.to_pandas(), hide_index=True, width="stretch", key="om_overview")
    for group in catalogue.groups:
        st.subheader(group.name, anchor=False)
        for ind in catalogue.in_group(group.id):
            with st.expander(f"{ind.name}", expanded=ind.id == open_id):
                frame = pl.DataFrame(indicator_rows(ind, catalogue), schema=["Felt", "Innhold"], orient="row")
                st.table(frame.to_pandas().set_index("Felt"))


def suppression(catalogue: Catalogue) -> None:
    threshold = settings().suppression_threshold
    st.header("Anonymisering (prikking)", anchor="anonymisering-prikking", divider="gray")
    stricter = [i for i in catalogue.indicators if i.suppression_threshold > threshold]
    st.markdown(
        f"""
Små tall kan gjøre det mulig å kjenne igjen personer. Derfor skjules tall slik:

1. **Primær anonymisering:** et tall skjules når telleren er under **{threshold}** hendelser eller personer
   (terskelen er satt i innstillingene til denne installasjonen{', og noen indikatorer har strengere terskel' if stricter else ''}).
   Når nevneren også er tall fra et register (for eksempel utskrivninger), gjelder regelen nevneren også.
2. **Sekundær anonymisering:** hvis et skjult tall kan regnes ut ved å trekke andre publiserte tall fra en sum
   (kommunene i et helsefellesskap eller fylke, helsefellesskapene i en region, landet), skjules også flere tall,
   til ingen skjulte tall kan regnes ut – heller ikke samlet.
3. **Tidsregel for sammenslåtte perioder:** små kommuner kan vises for faste treårsperioder
   ({POOLING_YEARS} år, som ikke overlapper). Bare disse periodene kan velges. En treårsperiode skjules hvis den
   sammen med de publiserte enkeltårene ville avsløre et skjult enkeltår.
4. Skjulte tall vises som **«–»** med forklaring, aldri som 0. I kartene er de grå («{theme.SUPPRESSED_LABEL}»),
   og i nedlastingene er cellene tomme.
"""
    )
    rows = [(FLAG_MEANING.get(code, (code, ""))[0], FLAG_LABELS.get(code) or "–", FLAG_MEANING.get(code, ("", ""))[1], code)
            for code in FLAG_LABELS]
    frame = pl.DataFrame(rows, schema=["Merknad", "Tekst i dashbordet", "Betydning", "Kode (flagg)"], orient="row")
    st.table(frame.to_pandas().set_index("Merknad"))


def standardisation(catalogue: Catalogue) -> None:
    st.header("Standardisering", anchor="standardisering", divider="gray")
    standards = "; ".join(f"{v.get('name', k)}: {' '.join(str(v.get('description', '')).split())}"
                          for k, v in catalogue.standard_populations.items())
    st.markdown(
        f"""
Befolkningen er eldre i noen helsefellesskap enn i andre. For at forskjeller i alder og kjønn ikke skal se ut som
forskjeller i tjenestene, er de fleste ratene **direkte standardisert for alder og kjønn**: raten i hver
aldersgruppe og hvert kjønn i området vektes med hvor stor den gruppen er i en felles standardbefolkning.
Resultatet er raten området ville hatt med samme alders- og kjønnssammensetning som standardbefolkningen.

- Standardbefolkning: {standards or 'Norges befolkning 2024'}
- Standardiserte tall er best til å sammenligne områder; de ujusterte (rå) tallene viser det faktiske omfanget og
  finnes i nedlastingene («ujustert verdi»).
- Andeler der nevneren er tjenestemottakere (for eksempel utskrivninger) er ikke standardisert.
- Traktplottet bruker ujusterte verdier.
"""
    )


def statistics() -> None:
    st.header("Usikkerhet og sammenligning", anchor="usikkerhet-og-sammenligning", divider="gray")
    st.markdown(
        """
- **95 % konfidensintervall (KI):** viser hvor sikkert tallet er. Små områder har bredere intervall.
- **Sammenlignet med landet:** et område er *signifikant høyere* (▲) eller *lavere* (▼) enn landet når hele
  95 %-intervallet ligger over eller under landsverdien; ellers er det *ikke signifikant forskjellig* (●).
  For indikatorer med ønsket retning sier fargen om det er **bedre** (blå) eller **dårligere** (oransje);
  for beskrivende indikatorer brukes mørk og lys blå for høyere og lavere.
- **Traktplott:** kontrollgrenser (95 % og 99,8 %) rundt landsverdien, smalere jo større nevneren er. Kommuner
  utenfor 99,8 %-grensene skiller seg ut mer enn tilfeldig variasjon kan forklare.
- **Variasjon:** høy/lav-ratio (høyeste delt på laveste), variasjonskoeffisient (CV) og systematisk
  variasjonskomponent (SCV ×100, som i Helseatlas).
- **Trend:** økende eller synkende når endringen over årene er statistisk sikker; ellers «ingen signifikant endring».
"""
    )


def provenance(key: indicators.DataKey) -> None:
    st.header("Datagrunnlag og versjoner", anchor="datagrunnlag-og-versjoner", divider="gray")
    datasets = cache.datasets(key)
    if cache.is_synthetic(key):
        st.warning("Databasen inneholder syntetiske demodata. Tallene er laget for å vise løsningen og beskriver ikke "
                   "virkelige forhold.", icon=":material/science:")
    frame = datasets.select(
        pl.col("dataset_id").alias("Datasett"),
        pl.col("source").alias("Kilde"),
        pl.col("description").alias("Beskrivelse"),
        pl.col("extraction_date").cast(pl.String).alias("Uttrekksdato"),
        pl.when(pl.col("synthetic")).then(pl.lit("Ja")).otherwise(pl.lit("Nei")).alias("Syntetisk"),
        pl.col("file_name").fill_null("–").alias("Fil"),
        pl.col("file_sha256").fill_null("").str.slice(0, 12).alias("SHA-256 (start)"),
        pl.col("imported_at").cast(pl.String).str.slice(0, 19).alias("Importert"),
        pl.col("row_count").map_elements(lambda v: text.count(v), return_dtype=pl.String).alias("Rader"),
    )
    st.dataframe(frame.to_pandas(), hide_index=True, width="stretch")
    st.caption(f"Dataversjon: {key.version}")


def map_attribution() -> None:
    st.header("Kartgrunnlag", anchor="kartgrunnlag", divider="gray")
    notes = cache.geometry_notes()
    st.markdown(
        "Kommunegrensene er Kartverkets grenser for 2020, forenklet og omnummerert til kommunene i 2024. "
        "**© Kartverket, lisens [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/deed.no).** "
        "Dataene er hentet fra Python-pakken *hvor* (som bygger på Kartverkets data via robhop/fylker-og-kommuner); "
        "bare geodataene er brukt. Helsefellesskapenes grenser er satt sammen av kommunene deres."
    )
    for note in notes:
        st.info(note, icon=":material/map:")
    st.caption("Kartene lastes ikke fra noen karttjeneste: det finnes ikke bakgrunnskart, og ingen data sendes ut.")


def readiness_source() -> None:
    from data_loaders.readiness import ENV_VARIABLE, TOML_KEY, ReadinessDataError, load_readiness

    st.header("Pakkeforløp hjem: kommunenes avklaringer", anchor="pakkeforlop-hjem-kommunenes-avklaringer",
              divider="gray")
    try:
        ready = load_readiness()
    except ReadinessDataError as error:
        st.warning("Fila kan ikke leses." + ("" if settings().public_mode else f" {error}"))
        return
    st.markdown(
        f"Kontaktpunkt, kreftkoordinator og koordinerende enhet per kommune kommer fra en egen CSV-fil "
        f"(`{ready.path.name}`), fordi ingen nasjonale registre har disse opplysningene. "
        + ("**Fila som brukes nå er syntetiske demodata.** " if ready.is_demo else "")
        + ("" if settings().public_mode  # how to configure the server is for its operators
           else f"En ekte fil kan tas i bruk med miljøvariabelen `{ENV_VARIABLE}` eller innstillingen `{TOML_KEY}`.")
    )
