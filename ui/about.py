"""Sections of the "Om dataene" page: all text comes from the catalogue, the settings and the store."""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

import indicators
from data_loaders.config import settings
from indicators import FLAG_LABELS, POOLING_YEARS
from indicators.catalogue import Catalogue, Indicator

from ui import cache, layout, text, theme

log = logging.getLogger("styring.about")

FLAG_MEANING = {
    "ok": ("Vises", "Tallet er publisert."),
    "not_reported": ("Ikke rapportert", "Ingen kommuner i området har rapportert (gjelder særlig lokal registrering av "
                                         "SP2 og SP3). Vises som «–» og aldri som 0."),
    "suppressed": ("Skjult («:»)", "Skjult av personvernhensyn: enten er tallet selv lite, eller det er skjult for å "
                                   "beskytte et lite tall. Alle skjulte tall har samme merke, slik at ingen kan se "
                                   "hvilke som er små."),
    "too_few_to_standardise": ("For få til å standardisere", "Færre enn 10 hendelser: standardisert rate beregnes ikke, "
                                                            "men den ujusterte raten kan finnes i nedlastingen."),
}


def contents() -> None:
    st.markdown(
        "**Innhold:** [Indikatorene](#indikatorene) · [Pasientgruppene](#pasientgruppene) · "
        "[Anonymisering](#anonymisering-prikking) · "
        "[Standardisering](#standardisering) · [Usikkerhet og sammenligning](#usikkerhet-og-sammenligning) · "
        "[Datagrunnlag og versjoner](#datagrunnlag-og-versjoner) · [Kartgrunnlag](#kartgrunnlag) · "
        "[Pakkeforløp hjem: SP1 og kommunenes avklaringer](#pakkeforlop-hjem-kommunenes-avklaringer)"
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
    if ind.is_published:
        return published_rows(ind)
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


def published_rows(ind: Indicator) -> list[tuple[str, str]]:
    """The definition of a published indicator: the publisher's values, never computed here."""
    return [
        ("Beskrivelse", ind.description),
        ("Publisert av", f"{ind.publisher}: verdiene er ekte og vises slik utgiveren har publisert dem"),
        ("Definisjon", ind.definition or ind.name),
        ("Enhet", text.unit_phrase(ind)),
        ("Konfidensintervall", ind.interval_label or "Utgiveren publiserer ikke intervall"),
        ("Flagg fra utgiveren", ind.flags_note or "Ingen"),
        ("Retning", text.direction(ind)),
        ("Kilde", ind.source),
        ("Terskel for små tall", f"{ind.suppression_threshold} (gjelder også publiserte tall med antall)"),
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


def cohort_definitions(catalogue: Catalogue) -> None:
    """The priority groups' cohorts (Helsedirektoratet's persons in each group): definition and source of
    each, how their indicators are computed, and the overlap between the four groups."""
    cohorts = tuple(getattr(catalogue, "cohorts", ()) or ())
    if not cohorts:
        return
    st.header("Pasientgruppene", anchor="pasientgruppene", divider="gray")
    st.markdown(
        "Helsedirektoratets styringsinformasjon til helsefellesskapene bygger på **pasientgrupper** (kohorter): "
        "personene som hører til hver prioritert gruppe etter registrene i året. Indikatorene under overskriften "
        "**«Pasientgruppen»** gjelder disse personene; indikatorene under **«Bruk av tjenester i befolkningen»** "
        "teller hendelser i hele befolkningen i en aldersgruppe og svarer på andre spørsmål.\n\n"
        "- **Andel av befolkningen:** personene i gruppen delt på innbyggerne i gruppens aldersgruppe (Wilson-intervall).\n"
        "- **Andel av pasientgruppen:** personene i gruppen med minst én hendelse (for eksempel innlagt) delt på alle "
        "i gruppen (Wilson-intervall).\n"
        "- **Per person:** alle hendelser (konsultasjoner, liggedøgn) delt på personene i gruppen, med eksakt Poisson- "
        "eller Byar-intervall for antallet hendelser, slik Fingertips gjør for rater per person. Registertall er ofte "
        "overspredt (noen få personer står for mange hendelser), så intervallene kan være for smale.\n"
        "- Antall personer og antall hendelser under terskelen skjules som alle andre tall, også når de kunne regnes "
        "ut fra andre tall (for eksempel fra utvalgene eller overlappen)."
    )
    groups = {g.id: g.name for g in catalogue.groups}

    def ages(cohort) -> str:
        if cohort.age_max is None:
            return f"{cohort.age_min or 0} år og eldre"
        return f"{cohort.age_min or 0}–{cohort.age_max} år"

    frame = pl.DataFrame(
        [(c.name, groups.get(c.group, c.group), ages(c), " ".join(str(c.definition).split()), c.source)
         for c in cohorts],
        schema=["Pasientgruppe", "Prioritert gruppe", "Alder", "Definisjon", "Kilde"], orient="row",
    )
    st.dataframe(frame.to_pandas(), hide_index=True, width="stretch", key="om_cohorts",
                 column_config={"Definisjon": st.column_config.TextColumn("Definisjon", width="large")})
    overlap = getattr(catalogue, "overlap", None)
    if overlap is not None:
        st.markdown(f"**{text.esc(overlap.name)}.** {text.esc(' '.join(str(overlap.definition).split()))} "
                    f"Kilde: {text.esc(overlap.source)}. Summen («{text.esc(overlap.union_name.lower())}») vises bare "
                    "der alle kombinasjonene vises.")


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
   Et tall som flere indikatorer bruker (for eksempel utskrivninger som nevner for to indikatorer), skjules likt i alle.
2. **Sekundær anonymisering:** flere tall skjules, til ingen kan regne seg fram til et skjult lite tall ved å
   kombinere alt som er publisert – alle nivåer (kommuner, bydeler, helsefellesskap, helseforetaksområder, fylker,
   sentralitet, KOSTRA-grupper, landet), enkeltår og treårsperioder, og alle indikatorene. Dette kontrolleres med
   lineær programmering: for hvert skjult lite tall må det være mulig at tallet er 1, og mulig at det er
   {threshold} eller mer. Ingen kan altså verken finne tallet eller vise at det er lite.
3. **Faste treårsperioder:** små kommuner kan vises for faste treårsperioder ({POOLING_YEARS} år: 2020–2022,
   2023–2025, 2026–2028 …). Periodene flytter seg ikke når et nytt år kommer, og en periode publiseres først når
   alle tre årene finnes. Slik kan to utgaver av tallene ikke trekkes fra hverandre.
4. Alle skjulte tall har **samme merke («:»)**, uansett grunn, og vises aldri som 0. I kartene er de grå
   («{theme.SUPPRESSED_LABEL}»), og i nedlastingene er cellene tomme. Null vises som 0.
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
- Traktplottet for en standardisert indikator viser observert mot forventet antall, der det forventede er regnet
  ut fra landets rater for hver alders- og kjønnsgruppe (indirekte standardisering, landet = 1). Andre indikatorer
  vises med ujusterte verdier rundt landsverdien.
"""
    )


def statistics() -> None:
    st.header("Usikkerhet og sammenligning", anchor="usikkerhet-og-sammenligning", divider="gray")
    st.markdown(
        """
- **95 % konfidensintervall (KI):** viser hvor sikkert tallet er. Små områder har bredere intervall. På sidene kan
  du i stedet velge 99,8 %, som viser bare de tydeligste forskjellene (som i Fingertips).
- **Sammenlignet med landet:** et område er *signifikant høyere* (▲) eller *lavere* (▼) enn landet når hele
  intervallet (95 % eller valgt 99,8 %) ligger over eller under landsverdien; ellers er det *ikke signifikant
  forskjellig* (●). I kommunetabellene følger sammenligningen traktplottets grenser, slik at tabell og traktplott
  alltid sier det samme; der konfidensintervallet alene gir et annet svar, står det i merknaden.
  For indikatorer med ønsket retning sier fargen om det er **bedre** (blå) eller **dårligere** (oransje);
  for beskrivende indikatorer brukes mørk og lys blå for høyere og lavere.
- **Traktplott:** kontrollgrenser (95 % og 99,8 %) rundt landet, smalere jo større nevneren (eller det forventede
  antallet) er. Kommuner utenfor 99,8 %-grensene skiller seg ut mer enn tilfeldig variasjon kan forklare.
- **Variasjon:** høy/lav-ratio (FT1: høyeste delt på laveste), FT2 (nest høyeste delt på nest laveste), FT3 (tredje
  høyeste delt på tredje laveste), variasjonskoeffisient (CV, i prosent) og systematisk variasjonskomponent
  (SCV ×100), som i Helseatlas.
- **Trend:** Fingertips' regel for siste trend: de fem siste årene testes (kji-kvadrattest for trend for andeler,
  vektet regresjon ellers), endringen må være sikker på 99,8 %-nivå og gå samme vei selv om ett av årene tas ut.
  Da vises økende eller synkende; ellers «ingen signifikant endring». Med færre enn fem år vises ingen pil
  («for få år til å vurdere trend»).
- **Rangering:** 1 er best for indikatorer med ønsket retning (høyest eller lavest verdi, etter retningen); for
  beskrivende indikatorer er 1 den høyeste verdien.
"""
    )


def provenance(key: indicators.DataKey) -> None:
    st.header("Datagrunnlag og versjoner", anchor="datagrunnlag-og-versjoner", divider="gray")
    datasets = cache.datasets(key)
    if cache.is_synthetic(key):
        st.warning("Databasen inneholder syntetiske demodata. Tallene er laget for å vise løsningen og beskriver ikke "
                   "virkelige forhold.", icon=":material/science:")
    mixed = layout.mixed_data_text(cache.real_publishers(key)) if cache.is_synthetic(key) else ""
    if mixed:
        st.info(mixed.strip(), icon=":material/verified:")
    origins = cache.dataset_origins(key)
    st.markdown("**Alle datasett i databasen:** ekte eller syntetiske, hvem som har publisert dem, hvilke år og "
                "hvilket uttrekk de gjelder, og hvordan de kom inn.")
    st.dataframe(origins.select(
        pl.col("source").alias("Kilde"),
        pl.col("kind").alias("Ekte eller syntetisk"),
        pl.col("publisher").alias("Utgiver"),
        pl.col("vintage").alias("Årgang"),
        pl.col("arrival").alias("Kom inn ved"),
    ).to_pandas(), hide_index=True, width="stretch", key="om_dataset_origins")
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
    st.caption(data_version_text(datasets))


def data_version_text(datasets: pl.DataFrame) -> str:
    """The data version in words (the last import, how many data sets and rows), not the raw key."""
    if not datasets.height:
        return "Ingen datasett er lastet inn."
    last = datasets["imported_at"].drop_nulls().max() if "imported_at" in datasets.columns else None
    rows = int(datasets["row_count"].fill_null(0).sum()) if "row_count" in datasets.columns else 0
    when = f"Sist oppdatert {last:%d.%m.%Y kl. %H.%M}: " if hasattr(last, "strftime") else ""
    noun = "datasett"
    return f"{when}{datasets.height} {noun} med til sammen {text.count(rows)} rader."


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
    from data_loaders.readiness import ReadinessDataError, load_readiness

    st.header("Pakkeforløp hjem: SP1 og kommunenes avklaringer", anchor="pakkeforlop-hjem-kommunenes-avklaringer",
              divider="gray")
    st.markdown(
        "**SP1 (behovskartlegging i sykehuset)** registreres av sykehuset som behandlet pasienten, og rapporteres til "
        "Norsk pasientregister. Høringsutkastet til Pakkeforløp hjem foreslo prosedyrekoden WMFG10 for kartleggingen; "
        "koden er et forslag og ikke endelig vedtatt. I visningen etter helseforetak plasseres SP1 etter hvor "
        "pasienten bor (helseforetakets opptaksområde), ikke etter hvilket sykehus som registrerte kartleggingen. "
        "En pasient som behandles i et annet helseforetak, telles derfor der hun eller han bor."
    )
    try:
        ready = load_readiness()
    except ReadinessDataError as error:
        log.warning("The readiness file cannot be read: %s", error)
        st.warning("Opplysningene om kommunenes avklaringer kan ikke leses akkurat nå.")
        return
    # Words only: the file's path and the setting that replaces it are in the operators' docs.
    st.markdown(
        "Kontaktpunkt, kreftkoordinator og koordinerende enhet per kommune kommer fra en egen fil med kommunenes "
        "egne opplysninger, fordi ingen nasjonale registre har disse opplysningene. "
        + ("**Opplysningene som vises nå er syntetiske demodata.** " if ready.is_demo else "")
        + "Driftsansvarlig kan bytte fila ut med kommunenes egne opplysninger (se driftsdokumentasjonen)."
    )
