"""The store's tables (SQLAlchemy Core) and the shared vocabulary of the data: age bands and sexes.

Counts are kept in long format at the grain year × area unit × sex × age band. An area unit is
a kommune, or a bydel where the kommune is split (Oslo); the column keeps the name
``kommunenummer`` but holds the unit's code (4 digits, or 6 for a bydel). Zero counts may
be left out; which kommune-years a measure covers at all is recorded in ``measure_coverage``,
so a missing report ("ikke rapportert") is never mistaken for zero.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Age bands split at every boundary the catalogue uses (18, 21, 40, 45, 67, 80) and at
# five-year steps otherwise, so any "age X+" or "X-Y" population is a sum of whole bands
# ("0-20", the barn og unge cohort's ages, too).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-4", 0, 4),
    ("5-9", 5, 9),
    ("10-14", 10, 14),
    ("15-17", 15, 17),
    ("18-19", 18, 19),
    ("20-20", 20, 20),
    ("21-24", 21, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40-44", 40, 44),
    ("45-49", 45, 49),
    ("50-54", 50, 54),
    ("55-59", 55, 59),
    ("60-64", 60, 64),
    ("65-66", 65, 66),
    ("67-69", 67, 69),
    ("70-74", 70, 74),
    ("75-79", 75, 79),
    ("80-84", 80, 84),
    ("85-89", 85, 89),
    ("90+", 90, None),
)
AGE_BAND_LABELS = tuple(label for label, _, _ in AGE_BANDS)
SEXES = ("male", "female")
SEX_LABELS_NB = {"male": "Menn", "female": "Kvinner"}


def age_bands_between(min_age: int | None, max_age: int | None) -> list[str]:
    """Labels of the bands that lie wholly inside [min_age, max_age] (None: open).

    Raises ValueError if a limit falls inside a band, so a filter is never silently widened.
    """
    low = 0 if min_age is None else min_age
    chosen = []
    for label, band_low, band_high in AGE_BANDS:
        high_ok = max_age is None or (band_high is not None and band_high <= max_age)
        if band_low >= low and high_ok:
            chosen.append(label)
    lows = {band_low for _, band_low, _ in AGE_BANDS}
    highs = {band_high for _, _, band_high in AGE_BANDS if band_high is not None}
    if min_age is not None and min_age not in lows:
        raise ValueError(f"age {min_age} is not the start of an age band; bands start at {sorted(lows)}")
    if max_age is not None and max_age not in highs:
        raise ValueError(f"age {max_age} is not the end of an age band; bands end at {sorted(highs)}")
    return chosen


metadata = MetaData()

dataset = Table(
    "dataset",
    metadata,
    Column("dataset_id", String(64), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("extraction_date", String(10), nullable=False),
    Column("synthetic", Boolean, nullable=False),
    Column("file_name", String(500)),
    Column("file_sha256", String(64)),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("row_count", Integer, nullable=False, default=0),
)

fylke = Table(
    "fylke",
    metadata,
    Column("fylkesnummer", String(2), primary_key=True),
    Column("fylkesnavn", String(100), nullable=False),
)

kommune = Table(
    "kommune",
    metadata,
    Column("kommunenummer", String(4), primary_key=True),
    Column("kommunenavn", String(100), nullable=False),
    Column("fylkesnummer", String(2), ForeignKey("fylke.fylkesnummer"), nullable=False),
)

helseforetaksomrade = Table(
    "helseforetaksomrade",
    metadata,
    Column("helseforetak_id", String(40), primary_key=True),
    Column("helseforetak_navn", String(100), nullable=False),
    Column("helseforetak", String(200), nullable=False),
    Column("rhf", String(100), nullable=False),
    Column("sort_order", Integer, nullable=False),
    Column("source", Text, nullable=False),
)

helsefellesskap = Table(
    "helsefellesskap",
    metadata,
    Column("helsefellesskap_id", String(40), primary_key=True),
    Column("helsefellesskap_navn", String(200), nullable=False),
    Column("kortnavn", String(100), nullable=False),
    Column("helseforetak", String(200), nullable=False),
    Column("samarbeidende_sykehus", String(300), nullable=False, default=""),
    Column("rhf", String(100), nullable=False),
    Column("sort_order", Integer, nullable=False),
    # SKDE's helseforetak area of the helsefellesskap's (unsplit) kommuner; null where the
    # kommuner are split into bydeler that carry their own (Oslo).
    Column("helseforetak_id", String(40), ForeignKey("helseforetaksomrade.helseforetak_id")),
)

kommune_helsefellesskap = Table(
    "kommune_helsefellesskap",
    metadata,
    Column("kommunenummer", String(4), ForeignKey("kommune.kommunenummer"), primary_key=True),
    Column("helsefellesskap_id", String(40), ForeignKey("helsefellesskap.helsefellesskap_id"), nullable=False),
    Column("source", Text, nullable=False),
)

bydel = Table(
    "bydel",
    metadata,
    Column("bydel", String(6), primary_key=True),
    Column("bydelsnavn", String(100), nullable=False),
    Column("kommunenummer", String(4), ForeignKey("kommune.kommunenummer"), nullable=False),
    Column("helseforetak_id", String(40), ForeignKey("helseforetaksomrade.helseforetak_id"), nullable=False),
    Column("source", Text, nullable=False),
)

kommune_klassifisering = Table(
    "kommune_klassifisering",
    metadata,
    Column("kommunenummer", String(4), ForeignKey("kommune.kommunenummer"), primary_key=True),
    Column("sentralitetsklasse", Integer, nullable=False),
    Column("sentralitetsindeks", Integer, nullable=False),
    Column("kostragruppe", String(5), nullable=False),
    Column("source", Text, nullable=False),
)

# Names of the groups of the classification levels (sentralitet 1-6, KOSTRA groups EKG01-EKG17).
klassifisering_gruppe = Table(
    "klassifisering_gruppe",
    metadata,
    Column("level", String(20), primary_key=True),
    Column("area_id", String(10), primary_key=True),
    Column("area_name", String(100), nullable=False),
    Column("short_name", String(40), nullable=False),
    Column("sort_order", Integer, nullable=False),
    Column("source", Text, nullable=False),
)

population = Table(
    "population",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("kommunenummer", String(6), primary_key=True),
    Column("sex", String(6), primary_key=True),
    Column("age_band", String(5), primary_key=True),
    Column("population", Integer, nullable=False),
    Column("dataset_id", String(64), ForeignKey("dataset.dataset_id"), nullable=False),
)

event_count = Table(
    "event_count",
    metadata,
    Column("measure_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("kommunenummer", String(6), primary_key=True),
    Column("sex", String(6), primary_key=True),
    Column("age_band", String(5), primary_key=True),
    Column("count", Float, nullable=False),
    Column("dataset_id", String(64), ForeignKey("dataset.dataset_id"), nullable=False),
)

measure_coverage = Table(
    "measure_coverage",
    metadata,
    Column("measure_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("kommunenummer", String(6), primary_key=True),
    Column("dataset_id", String(64), ForeignKey("dataset.dataset_id"), nullable=False),
)

# In the order they are written (deleted in reverse).
REFERENCE_TABLES = (
    fylke, kommune, helseforetaksomrade, helsefellesskap, kommune_helsefellesskap, bydel, kommune_klassifisering,
    klassifisering_gruppe,
)

# Small key/value settings kept in the store, e.g. the path of an imported kommune GeoJSON
# (key "kommune_geojson"), written by `python -m data_loaders import --format geometry`.
app_setting = Table(
    "app_setting",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- the SSU's own work (data_loaders.ssu) ---------------------------------------------------
# Roles, local goals, written assessments and actions of a helsefellesskap. Every row carries a
# version (optimistic concurrency) and who/when; ``ssu_history`` keeps every version ever written.
# No foreign keys to the reference tables: reloading the geography must never touch this work,
# and ``store.drop_schema`` (demo rebuild, ``init --force``) keeps these tables.

ssu_role = Table(
    "ssu_role",
    metadata,
    Column("identity", String(320), primary_key=True),
    Column("helsefellesskap_id", String(40), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("updated_by", String(320), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ssu_goal = Table(
    "ssu_goal",
    metadata,
    Column("goal_id", Integer, primary_key=True, autoincrement=True),
    Column("helsefellesskap_id", String(40), nullable=False),
    Column("indicator_id", String(100), nullable=False),
    Column("target", Float, nullable=False),
    Column("direction", String(20), nullable=False),
    Column("target_year", Integer, nullable=False),
    Column("sak_number", Integer, nullable=False),
    Column("sak_date", Date, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(320), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("helsefellesskap_id", "indicator_id", name="uq_ssu_goal_hf_indicator"),
)

ssu_assessment = Table(
    "ssu_assessment",
    metadata,
    Column("assessment_id", Integer, primary_key=True, autoincrement=True),
    Column("helsefellesskap_id", String(40), nullable=False),
    Column("indicator_id", String(100), nullable=False),
    Column("period", String(9), nullable=False),
    Column("text_md", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("public", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(320), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("helsefellesskap_id", "indicator_id", "period", name="uq_ssu_assessment_hf_indicator_period"),
)

ssu_action = Table(
    "ssu_action",
    metadata,
    Column("action_id", Integer, primary_key=True, autoincrement=True),
    Column("helsefellesskap_id", String(40), nullable=False),
    Column("title", String(300), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("sak_number", Integer, nullable=False),
    Column("sak_date", Date, nullable=False),
    Column("goal_text", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(320), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ssu_action_indicator = Table(
    "ssu_action_indicator",
    metadata,
    Column("action_id", Integer, ForeignKey("ssu_action.action_id", ondelete="CASCADE"), primary_key=True),
    Column("indicator_id", String(100), primary_key=True),
)

# Every version of every record (kind: goal, assessment, action, role), oldest first by history_id.
ssu_history = Table(
    "ssu_history",
    metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("record_id", Integer),
    Column("version", Integer, nullable=False),
    Column("operation", String(20), nullable=False),
    Column("record_json", Text, nullable=False),
    Column("changed_by", String(320), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

SSU_TABLES = (ssu_role, ssu_goal, ssu_assessment, ssu_action, ssu_action_indicator, ssu_history)

# Published indicators: values a publisher (SKDE's Helseatlas, FHI's Kommunehelsa/Norgeshelsa)
# has already computed and suppressed, imported as they are (``indicators.published``). They
# never pass through the engine's statistics; ``publisher_flag`` != 0 means the publisher hid the value.
published_indicator = Table(
    "published_indicator",
    metadata,
    Column("indicator_id", String(120), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("short_name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("group_id", String(40), nullable=False),
    Column("publisher", String(40), nullable=False),  # "SKDE" or "FHI"
    Column("source", String(300), nullable=False),
    Column("definition", Text, nullable=False, default=""),
    Column("unit", String(100), nullable=False, default=""),  # the publisher's unit text, e.g. "per 10 000"
    Column("direction", String(20), nullable=False, default="neutral"),
    Column("level", String(20), nullable=False),  # the main level (helseforetak, fylke, kommune)
    Column("interval_label", String(100), nullable=False, default=""),
    Column("flags_note", Text, nullable=False, default=""),
    Column("dataset_id", String(64), ForeignKey("dataset.dataset_id"), nullable=False),
)

published_value = Table(
    "published_value",
    metadata,
    Column("indicator_id", String(120), ForeignKey("published_indicator.indicator_id"), primary_key=True),
    Column("level", String(20), primary_key=True),
    Column("area_id", String(40), primary_key=True),
    Column("year_start", Integer, primary_key=True),
    Column("year_end", Integer, primary_key=True),
    Column("value", Float),
    Column("lower", Float),
    Column("upper", Float),
    Column("numerator", Float),
    Column("denominator", Float),
    Column("publisher_flag", Integer, nullable=False, default=0),
    Column("dataset_id", String(64), ForeignKey("dataset.dataset_id"), nullable=False),
)
