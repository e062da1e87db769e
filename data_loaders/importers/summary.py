"""The report printed after an import (and returned by ``import_files``)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LISTED = 12


@dataclass
class FileSummary:
    file: str
    format: str
    dataset_id: str
    kind: str
    rows_read: int = 0
    rows_written: int = 0
    rows_replaced: int = 0
    coverage_rows: int = 0
    kommuner: int = 0
    years: list[int] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)
    allocated: list[str] = field(default_factory=list)
    unreported: int = 0  # kommune-years left "ikke rapportert" (suppressed at the source, incomplete)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    database: str
    format: str
    files: list[FileSummary] = field(default_factory=list)
    dry_run: bool = False
    synthetic_removed: int = 0
    synthetic_remaining: int = 0
    datasets_dropped: list[str] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_written for f in self.files)

    @property
    def kommune_numbers_translated(self) -> int:
        return sum(len(f.translated) for f in self.files)

    def render(self) -> str:
        verb = "Validated (dry run, nothing written)" if self.dry_run else "Imported"
        lines = [f"{verb}: {len(self.files)} file(s), format {self.format}, into {self.database}"]
        for f in self.files:
            lines.append(f"\n{f.file} -> dataset {f.dataset_id}")
            if f.kind in ("population", "counts"):
                years = _span(f.years)
                lines.append(f"  rows read: {f.rows_read:,}; rows written: {f.rows_written:,}"
                             + ("" if self.dry_run else f"; rows replaced: {f.rows_replaced:,}"))
                lines.append(f"  areas: {f.kommuner} kommuner (2024 numbers); years: {years}")
                if f.measures:
                    lines.append(f"  measures: {', '.join(f.measures)}")
                if not self.dry_run:
                    if f.added:
                        lines.append(f"  added: {_list(f.added)}")
                    if f.replaced:
                        lines.append(f"  replaced: {_list(f.replaced)}")
                if f.unreported:
                    lines.append(
                        f"  not reported: {f.unreported} kommune-year(s) with values suppressed at the source "
                        "(or incomplete after translation) are stored as 'ikke rapportert', never as numbers"
                    )
            else:
                lines.append(f"  rows: {f.rows_read:,}")
            if f.translated:
                lines.append(f"  kommune numbers translated to 2024 numbers: {len(f.translated)}: {_list(f.translated)}")
            else:
                lines.append("  kommune numbers translated: none")
            for text in f.allocated:
                lines.append(f"  ALLOCATED (approximate): {text}")
            for note in f.notes:
                lines.append(f"  note: {note}")
        if self.synthetic_removed:
            lines.append(f"\nRemoved {self.synthetic_removed:,} rows of synthetic demo data (--replace-demo).")
        if self.datasets_dropped:
            lines.append(f"Datasets fully replaced and removed: {', '.join(self.datasets_dropped)}")
        if self.synthetic_remaining:
            lines.append(
                f"\nWARNING: the store still holds {self.synthetic_remaining:,} rows of SYNTHETIC demo data; the app "
                "marks everything as synthetic while any remain. Re-run with --replace-demo to remove them, or start "
                "from an empty store with `python -m data_loaders init`."
            )
        return "\n".join(lines)


def _span(years: list[int]) -> str:
    if not years:
        return "-"
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 2:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def _list(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" (and {len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else "")
