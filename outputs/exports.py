"""Downloads: engine tables as CSV, Excel, Parquet or JSON, each carrying its metadata.

Two functions serve every download button, the CLI and the batch export:

- ``export_metadata(indicator_ids, table, key)`` describes a table: definition, numerator
  and denominator, unit, standardisation, source, periods, extraction date, the suppression
  rule and flags, and whether the data are synthetic (a ``dict[str, str]`` with Norwegian
  keys, see ``METADATA_LABELS``).
- ``export_bytes(table, metadata, fmt)`` renders the table with Norwegian column names
  (``COLUMN_NAMES``) and returns ``(content, mime_type, extension)``.

Where the metadata goes, per format:

- ``csv`` (Norwegian Excel: UTF-8 with BOM, ``;``, decimal comma) and ``csv-plain`` (UTF-8,
  ``,``, decimal point): one table; the metadata are extra columns repeated on every row
  (``METADATA_COLUMNS``), looked up per row's indicator. With synthetic data the file starts
  with one comment line, ``# SYNTETISKE DEMODATA …`` (read with ``comment_prefix="#"`` /
  ``comment="#"``), so the warning is in the file itself. Both dialects write Norwegian words
  (``ja``/``nei``, the direction in words).
- ``xlsx``: sheet ``data`` holds the table, sheet ``metadata`` the fields (field, value).
- ``parquet``: the fields are the file's key-value metadata.
- ``json``: ``{"metadata": {...}, "data": [{...}, ...]}``.

CSV and Excel round values and limits to the decimals the indicator is shown with
(``indicators.formatting.decimals_for``); Parquet and JSON keep full precision for analysts.

Every format carries the column ``syntetiske_data``; with synthetic data the metadata
start with the warning ``SYNTETISKE DEMODATA``.

Defence in depth: ``export_bytes`` refuses (``UnsafeExportError``) a table in which a row
flagged as suppressed or not reported still holds a count, value or limit. The engine
masks those already; this check makes sure no later transformation undid it.
"""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from typing import Iterable

import polars as pl

from indicators import data
from indicators.catalogue import DIRECTION_LABELS, Indicator, load_catalogue
from indicators.engine import FLAG_LABELS, NOT_REPORTED, SPVFLAGG, SUPPRESSION_FLAGS
from indicators.formatting import decimals_for

FORMATS = ("csv", "csv-plain", "xlsx", "parquet", "json")
MIME_TYPES = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csv-plain": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "json": ("application/json", "json"),
}

SYNTHETIC_WARNING = "SYNTETISKE DEMODATA – tallene er generert for demonstrasjon og er ikke ekte"

# Engine column -> export column (Norwegian, ASCII only so that scripts can use them).
COLUMN_NAMES = {
    "indicator_id": "indikator_id",
    "level": "nivaa",
    "area_id": "omraade_id",
    "area_name": "omraade",
    "period": "periode",
    "year_start": "fra_aar",
    "year_end": "til_aar",
    "numerator": "teller",
    "denominator": "nevner",
    "value": "verdi",
    "lower_95": "nedre_95",
    "upper_95": "ovre_95",
    "lower_99_8": "nedre_99_8",
    "upper_99_8": "ovre_99_8",
    "crude_value": "ujustert_verdi",
    "crude_lower_95": "ujustert_nedre_95",
    "crude_upper_95": "ujustert_ovre_95",
    "standardised": "standardisert",
    "method": "metode",
    "unit": "enhet",
    "national_value": "nasjonal_verdi",
    "significance": "signifikans",
    "assessment": "vurdering",
    "flag": "flagg",
    "flag_label": "flaggforklaring",
    "spvflagg": "spvflagg",
    "reporting_kommuner": "rapporterende_kommuner",
    "total_kommuner": "antall_kommuner",
    "expected": "forventet",
    # kommune tables with the funnel (the chart's scale: observed/expected for standardised indicators)
    "funnel_scale": "trakt_skala",
    "funnel_value": "trakt_verdi",
    "funnel_position": "trakt_posisjon",
    "interval_significance": "signifikans_konfidensintervall",
    "comparison_note": "merknad_sammenligning",
    "confidence": "konfidensnivaa",
    "rank_rule": "rangering_regel",
    # profile tables
    "group": "gruppe",
    "name": "indikator",
    "short_name": "kortnavn",
    "direction": "retning",
    "source": "kilde",
    "trend": "trend",
    "rank": "rangering",
    "n_ranked": "antall_rangert",
    "hf_min": "hf_min",
    "hf_q25": "hf_kvartil_25",
    "hf_median": "hf_median",
    "hf_q75": "hf_kvartil_75",
    "hf_max": "hf_maks",
}

# Codes translated to Norwegian words in the export (the flag codes stay: they are
# identifiers, explained by ``flaggforklaring``, ``spvflagg`` and the metadata).
SIGNIFICANCE_LABELS = {
    "higher": "høyere",
    "lower": "lavere",
    "similar": "ingen forskjell",
    "not_compared": "ikke sammenlignet",
}
ASSESSMENT_LABELS = {
    "better": "bedre",
    "worse": "dårligere",
    "higher": "høyere",
    "lower": "lavere",
    "similar": "ingen forskjell",
    "not_compared": "ikke sammenlignet",
}
TREND_LABELS = {
    "increasing": "økende",
    "decreasing": "synkende",
    "no_significant_change": "ingen signifikant endring",
    "too_few_points": "for få år til å vurdere trend",
}
FUNNEL_POSITION_LABELS = {
    "above_99_8": "over 99,8 %-grensen",
    "above_95": "over 95 %-grensen",
    "inside": "innenfor grensene",
    "below_95": "under 95 %-grensen",
    "below_99_8": "under 99,8 %-grensen",
}
VALUE_CODES = {"significance": SIGNIFICANCE_LABELS, "assessment": ASSESSMENT_LABELS, "trend": TREND_LABELS,
               "interval_significance": SIGNIFICANCE_LABELS, "funnel_position": FUNNEL_POSITION_LABELS,
               "direction": DIRECTION_LABELS}

# Value-like columns rounded in CSV and Excel to the indicator's display decimals (counts are
# integers already; Parquet and JSON keep full precision).
ROUNDED_COLUMNS = (
    "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "crude_value", "crude_lower_95",
    "crude_upper_95", "national_value", "hf_min", "hf_q25", "hf_median", "hf_q75", "hf_max",
)
ROUNDED_FORMATS = ("csv", "csv-plain", "xlsx")

# Metadata fields, in order, with the label used on the xlsx metadata sheet and the README.
METADATA_LABELS = {
    "advarsel": "Advarsel",
    "indikator_id": "Indikator-ID",
    "indikator": "Indikator",
    "definisjon": "Definisjon",
    "teller": "Teller",
    "nevner": "Nevner",
    "enhet": "Enhet",
    "standardisering": "Standardisering",
    "retning": "Retning",
    "kilde": "Kilde",
    "lokale_maal": "Lokale mål (helsefellesskapenes vedtak)",
    "nivaa": "Geografisk nivå",
    "perioder": "Perioder",
    "uttrekksdato": "Uttrekksdato (datagrunnlag)",
    "datagrunnlag": "Datagrunnlag",
    "prikkingsregel": "Prikkingsregel",
    "flagg": "Flagg",
    "kolonner": "Kolonner",
    "syntetiske_data": "Syntetiske data",
    "generert": "Generert",
    "generert_av": "Generert av",
}

# Metadata repeated on every CSV row: export column -> metadata field.
METADATA_COLUMNS = {
    "indikator": "indikator",
    "definisjon": "definisjon",
    "teller_definisjon": "teller",
    "nevner_definisjon": "nevner",
    "standardisering": "standardisering",
    "kilde": "kilde",
    "uttrekksdato": "uttrekksdato",
    "prikkingsregel": "prikkingsregel",
}
PER_INDICATOR_FIELDS = ("indikator", "definisjon", "teller", "nevner", "enhet", "standardisering", "kilde")

# Columns that must be null on a masked row (denominator: see ``_check_suppression``).
MASKED_COLUMNS = (
    "numerator", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
    "crude_value", "crude_lower_95", "crude_upper_95", "expected", "funnel_value",
)
HIDDEN_FLAGS = (*SUPPRESSION_FLAGS, NOT_REPORTED)

COLUMN_DESCRIPTIONS = (
    "omraade_id/omraade: området (kommunenummer, helsefellesskap, RHF, fylke eller landet); "
    "periode, fra_aar, til_aar: året eller den sammenslåtte perioden; teller, nevner: antall; "
    "verdi: indikatorverdien i oppgitt enhet (standardisert når standardisert = ja); "
    "nedre_95/ovre_95 og nedre_99_8/ovre_99_8: konfidensintervall (95 % og 99,8 %); "
    "ujustert_verdi: råverdien uten standardisering; nasjonal_verdi: verdien for hele landet; "
    "signifikans: verdien sammenlignet med landet (95 %-intervallet); vurdering: signifikans tolket med "
    "indikatorens retning; flagg, flaggforklaring, spvflagg: hvorfor en verdi mangler; "
    "rapporterende_kommuner/antall_kommuner: kommuner med data av alle kommuner i området; "
    "forventet: forventet antall ut fra landets rater for alder og kjønn (indirekte standardisering). "
    "Kommunetabeller fra traktplottet har også trakt_skala, trakt_verdi (observert/forventet for "
    "standardiserte indikatorer, ellers råverdien) og trakt_posisjon; der er signifikans hentet fra "
    "traktplottets grenser på valgt konfidensnivå, og signifikans_konfidensintervall er sammenligningen "
    "av konfidensintervallet (merknad_sammenligning forklarer når de er ulike). "
    "Tomme celler er prikket, ikke rapportert eller mangler – aldri 0."
)


class UnsafeExportError(RuntimeError):
    """A table about to be exported holds a figure that should have been masked."""


# --- metadata ------------------------------------------------------------------------------


def _term_text(term) -> str:
    details = []
    if term.population:
        details.append("befolkningen")
    if term.age_label not in term.label:
        details.append(term.age_label)
    if term.sex != "all":
        details.append({"male": "menn", "female": "kvinner"}.get(term.sex, term.sex))
    return term.label + (f" ({', '.join(details)})" if details else "")


def indicator_metadata(ind: Indicator) -> dict[str, str]:
    """The per-indicator fields of the metadata (Norwegian text)."""
    if ind.is_published:  # the publisher's own values: say whose, never our counts or methods
        return {
            "indikator_id": ind.id, "indikator": ind.name, "definisjon": ind.definition or ind.description,
            "teller": f"Som publisert av {ind.publisher}", "nevner": f"Som publisert av {ind.publisher}",
            "enhet": ind.unit_label, "standardisering": ind.standardisation.label,
            "retning": DIRECTION_LABELS.get(ind.direction, ind.direction),
            "kilde": f"{ind.source} ({ind.published_by}; ekte, publiserte tall)",
        }
    catalogue = load_catalogue()
    num = _term_text(ind.numerator)
    if ind.numerator.measure in catalogue.measures:
        num += ": " + catalogue.measures[ind.numerator.measure].definition
    den = _term_text(ind.denominator)
    if ind.denominator.measure in catalogue.measures:
        den += ": " + catalogue.measures[ind.denominator.measure].definition
    standardisation = ind.standardisation.label
    if ind.is_standardised:
        standard = catalogue.standard_populations.get(ind.standardisation.standard or "", {})
        if standard.get("name"):
            standardisation += f" (standardbefolkning: {standard['name']})"
    return {
        "indikator_id": ind.id,
        "indikator": ind.name,
        "definisjon": ind.description,
        "teller": num,
        "nevner": den,
        "enhet": ind.unit_label,
        "standardisering": standardisation,
        "retning": DIRECTION_LABELS.get(ind.direction, ind.direction),
        "kilde": ind.source,
    }


def suppression_rule(thresholds: Iterable[int]) -> str:
    values = sorted(set(thresholds))
    threshold = " / ".join(str(v) for v in values) if values else "5"
    return (
        f"Tellere under {threshold} skjules, sammen med de tallene som trengs for at ingen kan regne seg fram til "
        f"et skjult tall eller vise at det er under {threshold}, med alt som er publisert (alle nivåer, år, "
        "treårsperioder og indikatorer). Alle skjulte tall har samme flagg (suppressed, «:»), uansett grunn. "
        "Skjulte og ikke rapporterte verdier er tomme i filen, aldri 0. Registerbaserte nevnere skjules på samme måte."
    )


def flags_text() -> str:
    parts = []
    for flag, label in FLAG_LABELS.items():
        parts.append(f"{flag} (spvflagg {SPVFLAGG[flag]}): {label or 'Verdien vises'}")
    return "; ".join(parts)


def _provenance(key: data.DataKey) -> tuple[str, str, bool]:
    datasets = data.datasets(key)
    dates = sorted({str(d) for d in datasets["extraction_date"].drop_nulls().to_list()}) if datasets.height else []
    sources = []
    for row in datasets.iter_rows(named=True):
        text = str(row.get("source") or row.get("dataset_id"))
        if row.get("extraction_date"):
            text += f" (uttrekk {row['extraction_date']})"
        sources.append(text)
    return ", ".join(dates) or "ukjent", "; ".join(sources) or "ukjent", data.is_synthetic(key)


def _join_fields(per_indicator: list[dict[str, str]], field: str) -> str:
    values = [m[field] for m in per_indicator]
    if len(per_indicator) == 1 or len(set(values)) == 1:
        return values[0]
    return "\n".join(f"{m['indikator_id']}: {m[field]}" for m in per_indicator)


def export_metadata(indicator_ids: str | list[str], table: pl.DataFrame, key=None) -> dict[str, str]:
    """Metadata for an export of ``table`` (the engine output for ``indicator_ids``).

    Keys are listed in ``METADATA_LABELS``; with several indicators the per-indicator fields
    hold one line per indicator (``id: text``). Unknown ids raise ``KeyError``.
    """
    ids = [indicator_ids] if isinstance(indicator_ids, str) else list(indicator_ids)
    if not ids:
        raise ValueError("export_metadata needs at least one indicator id")
    catalogue = load_catalogue()
    indicators_ = [catalogue.indicator(i) for i in ids]
    per_indicator = [indicator_metadata(ind) for ind in indicators_]
    key = key or data.current_key()
    extraction, sources, synthetic = _provenance(key)
    # Each number carries its own label: a publisher's real values are not synthetic in a mixed store.
    synthetic = synthetic and not all(ind.is_published for ind in indicators_)
    periods = "ukjent"
    if "period" in table.columns and table.height:
        ordered = table.select("period", *[c for c in ("year_start", "year_end") if c in table.columns]).unique()
        ordered = ordered.sort([c for c in ("year_start", "year_end", "period") if c in ordered.columns])
        periods = ", ".join(p for p in ordered["period"].to_list() if p is not None) or "ukjent"
    levels = "ukjent"
    if "level" in table.columns and table.height:
        levels = ", ".join(sorted({lv for lv in table["level"].to_list() if lv}))
    meta = {
        "advarsel": SYNTHETIC_WARNING if synthetic else "",
        "indikator_id": ", ".join(ids),
        **{f: _join_fields(per_indicator, f) for f in PER_INDICATOR_FIELDS},
        "retning": _join_fields(per_indicator, "retning"),
        "lokale_maal": local_goals_text(ids, key.database_url),
        "nivaa": levels,
        "perioder": periods,
        "uttrekksdato": extraction,
        "datagrunnlag": sources,
        "prikkingsregel": suppression_rule(ind.suppression_threshold for ind in indicators_),
        "flagg": flags_text(),
        "kolonner": COLUMN_DESCRIPTIONS,
        "syntetiske_data": "ja" if synthetic else "nei",
        "generert": datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "generert_av": "Styringsinformasjon for helsefellesskapene",
    }
    return {k: meta[k] for k in METADATA_LABELS if k in meta and (k != "lokale_maal" or meta[k])}


# --- local goals (set by a helsefellesskap; the catalogue's own targets stay in the catalogue) --------

LOCAL_GOAL_COLUMNS = ("lokalt_maal", "lokalt_maal_retning", "lokalt_maal_aar", "lokalt_maal_vedtak")


def _local_goals(indicator_ids: Iterable[str], database_url: str | None = None) -> list:
    """The store's local goals for these indicators (none in public mode: they are internal)."""
    from data_loaders import ssu, store
    from data_loaders.config import settings

    wanted = set(indicator_ids)
    engine = store.get_engine(database_url or settings().database_url)
    return [g for g in ssu.goals(engine) if g.indicator_id in wanted]


def local_goal_text(goal) -> str:
    """"minst 80 prosent innen 2026 (sak 12/2025 (03.04.2025))"."""
    from data_loaders import ssu

    unit = load_catalogue().indicator(goal.indicator_id).unit_label
    value = f"{goal.target:g}".replace(".", ",")
    return (f"{ssu.GOAL_DIRECTION_LABELS_NB[goal.direction]} {value} {unit} innen {goal.target_year} "
            f"({ssu.format_sak(goal.sak_number, goal.sak_date)})")


def local_goals_text(indicator_ids: Iterable[str], database_url: str | None = None) -> str:
    """One line per local goal: "helsefellesskap, indikator: minst 80 prosent innen 2026 (sak …)"."""
    lines = [f"{g.helsefellesskap_id}, {g.indicator_id}: {local_goal_text(g)}"
             for g in _local_goals(indicator_ids, database_url)]
    return "\n".join(lines)


def with_local_goals(table: pl.DataFrame) -> pl.DataFrame:
    """Helsefellesskap rows with a local goal for their indicator get it in the ``lokalt_maal*`` columns."""
    if table.height == 0 or not {"indicator_id", "level", "area_id"} <= set(table.columns):
        return table
    goals = _local_goals(table["indicator_id"].unique().to_list())
    if not goals:
        return table
    from data_loaders import ssu

    lookup = pl.DataFrame({
        "__hf": [g.helsefellesskap_id for g in goals],
        "indicator_id": [g.indicator_id for g in goals],
        "lokalt_maal": [g.target for g in goals],
        "lokalt_maal_retning": [DIRECTION_LABELS[g.direction] for g in goals],
        "lokalt_maal_aar": [g.target_year for g in goals],
        "lokalt_maal_vedtak": [ssu.format_sak(g.sak_number, g.sak_date) for g in goals],
    }, schema_overrides={"lokalt_maal": pl.Float64, "lokalt_maal_aar": pl.Int64})
    keyed = table.with_columns(
        pl.when(pl.col("level") == "helsefellesskap").then(pl.col("area_id")).otherwise(None).alias("__hf"))
    return keyed.join(lookup, on=["__hf", "indicator_id"], how="left", maintain_order="left").drop("__hf")


# --- safety --------------------------------------------------------------------------------


def _check_suppression(table: pl.DataFrame) -> None:
    """Refuse a table whose masked rows still carry a count, value or limit."""
    sensitive = [c for c in MASKED_COLUMNS if c in table.columns]
    has_denominator = "denominator" in table.columns
    if not sensitive and not has_denominator:
        return
    if "flag" not in table.columns:
        raise UnsafeExportError(
            "refusing to export a table with counts or values but no 'flag' column: "
            "the suppression status of each row must travel with it"
        )
    hidden = pl.col("flag").is_in(list(HIDDEN_FLAGS))
    leaks = [pl.col(c).is_not_null() for c in sensitive]
    if has_denominator:
        sensitive_ids = [i.id for i in load_catalogue().indicators if i.denominator_is_sensitive]
        den_hidden = pl.col("flag") == NOT_REPORTED
        if "indicator_id" in table.columns:
            den_hidden = den_hidden | (hidden & pl.col("indicator_id").is_in(sensitive_ids))
        leaks.append(den_hidden & pl.col("denominator").is_not_null())
    bad = table.filter(hidden & pl.any_horizontal(leaks)) if leaks else table.clear()
    if bad.height:
        row = bad.row(0, named=True)
        where = ", ".join(str(row.get(c)) for c in ("indicator_id", "area_id", "period") if c in row)
        raise UnsafeExportError(
            f"refusing to export: {bad.height} row(s) flagged as suppressed or not reported still hold a "
            f"count, value or limit (first: {where}, flag {row['flag']})"
        )


# --- rendering -----------------------------------------------------------------------------


def _export_frame(table: pl.DataFrame) -> pl.DataFrame:
    """Norwegian column names and words; counts as integers; numbers stay numbers."""
    exprs = []
    for column in table.columns:
        expr = pl.col(column)
        if column in VALUE_CODES:
            expr = expr.replace(VALUE_CODES[column])
        if column in ("numerator", "denominator") and table.schema[column].is_float():
            values = table[column].drop_nulls()
            if values.len() == 0 or bool(((values - values.round(0)).abs() < 1e-9).all()):
                expr = expr.round(0).cast(pl.Int64)
        exprs.append(expr.alias(COLUMN_NAMES.get(column, column)))
    return table.select(exprs)


def _rounded(table: pl.DataFrame, metadata: dict[str, str]) -> pl.DataFrame:
    """Values and limits rounded to the decimals each row's indicator is shown with."""
    columns = [c for c in ROUNDED_COLUMNS if c in table.columns and table.schema[c].is_float()]
    if not columns or not table.height:
        return table
    if "indicator_id" in table.columns:
        catalogue = load_catalogue()
        units = {}
        for ind_id in table["indicator_id"].unique().to_list():
            try:
                units[ind_id] = decimals_for(catalogue.indicator(ind_id).unit_label)
            except KeyError:
                units[ind_id] = 1
        decimals = pl.col("indicator_id").replace_strict(units, default=1, return_dtype=pl.Int64)
        choices = sorted(set(units.values()) | {1})
        exprs = []
        for column in columns:
            expr = pl.col(column).round(choices[-1])
            for d in choices[:-1]:
                expr = pl.when(decimals == d).then(pl.col(column).round(d)).otherwise(expr)
            exprs.append(expr.alias(column))
        return table.with_columns(exprs)
    d = decimals_for(metadata.get("enhet", ""))
    return table.with_columns(pl.col(c).round(d) for c in columns)


def _row_metadata(table: pl.DataFrame, metadata: dict[str, str]) -> list[pl.Series]:
    """Metadata columns for every row (per-indicator fields looked up by the row's indicator).

    A column the table already has (e.g. ``kilde`` or ``indikator`` in a profile) is kept as is.
    """
    n = table.height
    existing = {COLUMN_NAMES.get(c, c) for c in table.columns}
    columns: dict[str, pl.Series] = {}
    catalogue = load_catalogue()
    per_row: list[dict[str, str]] | None = None
    if "indicator_id" in table.columns and "\n" in metadata.get("definisjon", ""):
        cache: dict[str, dict[str, str]] = {}
        per_row = []
        for ind_id in table["indicator_id"].to_list():
            if ind_id not in cache:
                try:
                    cache[ind_id] = indicator_metadata(catalogue.indicator(ind_id))
                except KeyError:
                    cache[ind_id] = {}
            per_row.append(cache[ind_id])
    for column, field in METADATA_COLUMNS.items():
        if column in existing:
            continue
        if per_row is not None and field in PER_INDICATOR_FIELDS:
            values = [m.get(field, metadata.get(field, "")) for m in per_row]
        else:
            values = [metadata.get(field, "")] * n
        columns[column] = pl.Series(column, values, dtype=pl.String)
    if "enhet" not in existing:
        columns["enhet"] = pl.Series("enhet", [metadata.get("enhet", "")] * n, dtype=pl.String)
    return list(columns.values())


def _synthetic_column(frame: pl.DataFrame, metadata: dict[str, str], as_text: bool) -> pl.DataFrame:
    synthetic = metadata.get("syntetiske_data", "nei") == "ja"
    value = ("ja" if synthetic else "nei") if as_text else synthetic
    return frame.with_columns(pl.lit(value).alias("syntetiske_data"))


def _bool_to_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(c)).then(pl.lit("ja")).when(pl.col(c).not_()).then(pl.lit("nei")).otherwise(None).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.Boolean
    )


def _csv(frame: pl.DataFrame, *, nb: bool, warning: str = "") -> bytes:
    """The CSV; a synthetic-data warning becomes the first line, a ``#`` comment."""
    buffer = io.BytesIO()
    newline = "\r\n" if nb else "\n"
    if nb:
        buffer.write("\ufeff".encode("utf-8"))
    if warning:
        line = " ".join(warning.split())
        buffer.write(f"# {line}. Les filen med kommentartegn #.{newline}".encode("utf-8"))
    if nb:
        frame.write_csv(buffer, separator=";", decimal_comma=True, line_terminator="\r\n")
    else:
        frame.write_csv(buffer)
    return buffer.getvalue()


def _xlsx(frame: pl.DataFrame, metadata: dict[str, str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    sheet.append(frame.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.iter_rows():
        sheet.append([None if isinstance(v, float) and math.isnan(v) else v for v in row])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(len(column) + 2, 10), 40)
    meta = workbook.create_sheet("metadata")
    meta.append(["felt", "verdi"])
    for cell in meta[1]:
        cell.font = Font(bold=True)
    warning = metadata.get("advarsel")
    for field, value in metadata.items():
        meta.append([field, value])
        if field == "advarsel" and warning:
            for cell in meta[meta.max_row]:
                cell.font = Font(bold=True, color="FFFFFF", size=13)
                cell.fill = PatternFill("solid", fgColor="B2182B")
    meta.column_dimensions["A"].width = 22
    meta.column_dimensions["B"].width = 110
    for row in meta.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        row[0].alignment = Alignment(vertical="top")
    workbook.properties.title = metadata.get("indikator", "Eksport")
    workbook.properties.description = (warning + "\n" if warning else "") + metadata.get("definisjon", "")
    workbook.properties.creator = metadata.get("generert_av", "")
    if warning:
        workbook.properties.keywords = "SYNTETISKE DEMODATA"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _parquet(frame: pl.DataFrame, metadata: dict[str, str]) -> bytes:
    import pyarrow.parquet as pq

    arrow = frame.to_arrow()
    existing = dict(arrow.schema.metadata or {})
    existing.update({k.encode("utf-8"): v.encode("utf-8") for k, v in metadata.items()})
    buffer = io.BytesIO()
    pq.write_table(arrow.replace_schema_metadata(existing), buffer, compression="zstd")
    return buffer.getvalue()


def _json_value(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _json(frame: pl.DataFrame, metadata: dict[str, str]) -> bytes:
    rows = [{k: _json_value(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
    return json.dumps({"metadata": metadata, "data": rows}, ensure_ascii=False, indent=1).encode("utf-8")


def with_funnel_positions(table: pl.DataFrame, key=None) -> pl.DataFrame:
    """Kommune rows get each kommune's place in the national funnel of its indicator and period,
    on the chart's scale (observed/expected for standardised indicators), and the comparison with
    the country that follows it (``analysis.with_funnel``, 95 %). Tables that already carry
    ``funnel_position`` (the Kommuner page's) and rows of other levels are left as they are."""
    needed = {"level", "indicator_id", "year_start", "year_end", "area_id", "flag", "significance"}
    if "funnel_position" in table.columns or not needed <= set(table.columns) or table.height == 0:
        return table
    numbered = table.with_row_index("__row")
    kommuner = numbered.filter(pl.col("level") == "kommune")
    if kommuner.height == 0:
        return table
    from indicators import analysis  # imported here: analysis imports the engine
    from indicators.periods import Period

    catalogue = load_catalogue()
    parts = []
    for (ind_id, start, end), part in kommuner.group_by("indicator_id", "year_start", "year_end", maintain_order=True):
        ind = catalogue.indicator(ind_id)
        if ind.is_published:  # a publisher's values have no funnel of ours
            parts.append(part)
            continue
        plot = analysis.funnel(ind_id, "kommune", Period(int(start), int(end)), key=key)
        parts.append(analysis.with_funnel(part, plot, ind))
    others = numbered.filter(pl.col("level") != "kommune")
    return pl.concat([*parts, others], how="diagonal_relaxed").sort("__row").drop("__row")


def export_frame(table: pl.DataFrame, metadata: dict[str, str], fmt: str = "csv") -> pl.DataFrame:
    """The table exactly as written for ``fmt`` (Norwegian columns, plus metadata columns for CSV).

    Kommune rows carry their funnel position (:func:`with_funnel_positions`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_suppression(table)
    table = with_funnel_positions(table)
    if fmt in ROUNDED_FORMATS:  # the expected count to one decimal, the funnel's value (a ratio) to three
        table = table.with_columns(pl.col(c).round(d) for c, d in (("expected", 1), ("funnel_value", 3))
                                   if c in table.columns and table.schema[c].is_float())
    frame = _export_frame(_rounded(table, metadata) if fmt in ROUNDED_FORMATS else table)
    if fmt in ("csv", "csv-plain"):
        frame = frame.with_columns(_row_metadata(table, metadata))
    goals = with_local_goals(table)
    if goals.width > table.width:
        frame = frame.with_columns(goals.select(LOCAL_GOAL_COLUMNS))
    frame = _synthetic_column(frame, metadata, as_text=fmt in ("csv", "csv-plain"))
    if fmt in ("csv", "csv-plain"):
        frame = _bool_to_text(frame)
    return frame


def export_bytes(table: pl.DataFrame, metadata: dict, fmt: str = "csv") -> tuple[bytes, str, str]:
    """``(content, mime_type, extension)`` of ``table`` in ``fmt`` with ``metadata`` embedded.

    ``fmt``: ``csv`` (Norwegian: UTF-8 with BOM, ``;``, decimal comma, ja/nei), ``csv-plain``
    (UTF-8, ``,``, decimal point, ja/nei), ``xlsx`` (sheets ``data`` and ``metadata``),
    ``parquet`` (key-value metadata) or ``json``. Raises ``ValueError`` on an unknown format
    and ``UnsafeExportError`` if a masked row still holds a figure.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    metadata = {str(k): "" if v is None else str(v) for k, v in metadata.items()}
    return _encode(export_frame(table, metadata, fmt), metadata, fmt)


def _encode(frame: pl.DataFrame, metadata: dict[str, str], fmt: str) -> tuple[bytes, str, str]:
    """Bytes, MIME type and extension of a ready export frame in one format."""
    if fmt in ("csv", "csv-plain"):
        content = _csv(frame, nb=fmt == "csv", warning=metadata.get("advarsel", ""))
    elif fmt == "xlsx":
        content = _xlsx(frame, metadata)
    elif fmt == "parquet":
        content = _parquet(frame, metadata)
    else:
        content = _json(frame, metadata)
    mime, extension = MIME_TYPES[fmt]
    return content, mime, extension


def export_file_name(indicator_id: str, level: str | None = None, periods: str | None = None, extension: str = "csv") -> str:
    """A safe default file name: ``indicator_level_periods.ext``."""
    parts = [indicator_id] + [p for p in (level, periods) if p]
    stem = "_".join(parts)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem.replace("–", "-"))
    return f"{stem}.{extension}"


# --- catalogue -----------------------------------------------------------------------------


def catalogue_frame() -> pl.DataFrame:
    """The catalogue as one row per indicator, Norwegian columns (for katalog.csv etc.)."""
    catalogue = load_catalogue()
    groups = {g.id: g.name for g in catalogue.groups}
    rows = []
    for ind in catalogue.indicators:
        meta = indicator_metadata(ind)
        rows.append({
            "gruppe": ind.group,
            "gruppenavn": groups.get(ind.group, ind.group),
            "indikator_id": ind.id,
            "indikator": ind.name,
            "kortnavn": ind.short_name,
            "definisjon": ind.description,
            "type": {"rate": "rate", "proportion": "andel"}.get(ind.type, ind.type),
            "teller": meta["teller"],
            "nevner": meta["nevner"],
            "enhet": ind.unit_label,
            "standardisert": ind.is_standardised,
            "standardisering": meta["standardisering"],
            "retning": meta["retning"],
            "kilde": ind.source,
            "maal": ind.target.value if ind.target else None,
            "foerste_aar": ind.first_year,
            "dekning": {"complete": "hele landet", "local": "lokal registrering"}.get(ind.coverage, ind.coverage),
            "prikkegrense": ind.suppression_threshold,
        })
    return pl.DataFrame(rows, infer_schema_length=None)


def catalogue_bytes(fmt: str, key=None) -> tuple[bytes, str, str]:
    """The catalogue in an export format (with the provenance and synthetic-data metadata)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    key = key or data.current_key()
    extraction, sources, synthetic = _provenance(key)
    metadata = {
        "advarsel": SYNTHETIC_WARNING if synthetic else "",
        "indikator": "Indikatorkatalog",
        "uttrekksdato": extraction,
        "datagrunnlag": sources,
        "flagg": flags_text(),
        "syntetiske_data": "ja" if synthetic else "nei",
        "generert": datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "generert_av": "Styringsinformasjon for helsefellesskapene",
    }
    frame = catalogue_frame().with_columns(pl.lit(synthetic).alias("syntetiske_data"))
    return _encode(_bool_to_text(frame) if fmt in ("csv", "csv-plain") else frame, metadata, fmt)
