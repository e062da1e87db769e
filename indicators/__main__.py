"""Command line: ``python -m indicators list|compute|export|deck``.

Every table comes from the public engine API and is suppressed before it is written.
User errors (unknown indicator, group, level, helsefellesskap or year, malformed year
range) end with one line on stderr and exit status 2; see docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

USAGE_ERROR = 2
RUNTIME_ERROR = 1

LIST_FORMATS = ("text", "csv")
COMPUTE_FORMATS = ("csv", "csv-plain", "parquet", "json", "xlsx")
EXPORT_FORMATS = ("csv", "csv-plain", "xlsx", "parquet")
STDOUT_FORMATS = ("csv", "csv-plain", "json")

EPILOG = """examples:
  python -m indicators list
  python -m indicators compute --indicator eldre_oh_innleggelser_80 --level kommune --years 2022-2024
  python -m indicators compute --indicator eldre_oh_innleggelser_80 --level helsefellesskap --years 2023-2025 --pooled --format json
  python -m indicators export --group skropelige_eldre --level kommune --years 2024 --format xlsx --out eksport/
  python -m indicators overlap --level helsefellesskap --years 2024 --format csv
  python -m indicators deck --helsefellesskap troms-ofoten --years 2019-2025 --out ssu.pptx --pdf
  python -m indicators report --helsefellesskap troms-ofoten --year 2025 --format docx
"""


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: message``) and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


# --- argument helpers --------------------------------------------------------------------------


def parse_year_range(text: str) -> tuple[int, int]:
    """``"2024"`` -> (2024, 2024); ``"2022-2024"`` (or en dash) -> (2022, 2024)."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:[-–]\s*(\d{4})\s*)?", text or "")
    if not match:
        raise UsageError(f"malformed year range {text!r}: give a year (2024) or a range (2022-2024)")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start:
        raise UsageError(f"malformed year range {text!r}: the first year must not be after the last")
    return start, end


def _catalogue():
    from indicators import load_catalogue

    return load_catalogue()


def _indicator(indicator_id: str):
    try:
        return _catalogue().indicator(indicator_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


def _level(level: str) -> str:
    from indicators.engine import LEVELS

    if level not in LEVELS:
        raise UsageError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    return level


def _periods(indicator_id: str, years: tuple[int, int] | None, pooled: bool, key):
    """Engine arguments (years=..., period=...) for one indicator, or a UsageError."""
    from indicators import IndicatorRequestError, Period, available_years, pooled_periods

    if pooled:
        if years is None:
            periods = pooled_periods(indicator_id, key)
            if not periods:
                raise UsageError(f"{indicator_id} has no published pooled period")
            return [dict(period=p) for p in sorted(periods)]
        start, end = years
        period = Period(start, end)
        if not period.is_pooled:
            raise UsageError(f"--pooled needs a range of years, e.g. --years {start - 2}-{start}")
        return [dict(period=period)]
    if years is None:
        return [dict(years=None)]
    available = available_years(indicator_id, key)
    wanted = list(range(years[0], years[1] + 1))
    missing = [y for y in wanted if y not in available]
    if missing:
        span = f"{available[0]}-{available[-1]}" if available else "none"
        raise IndicatorRequestError(
            f"no data for {indicator_id} in {', '.join(map(str, missing))}; years with data: {span}"
        )
    return [dict(years=wanted)]


def _compute(indicator_id: str, level: str, years, pooled: bool, key):
    import polars as pl

    from indicators import compute

    frames = [compute(indicator_id, level, key=key, **args) for args in _periods(indicator_id, years, pooled, key)]
    return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]


def _write(content: bytes, out: str | None, fmt: str) -> None:
    if out is None:
        if fmt not in STDOUT_FORMATS:
            raise UsageError(f"--format {fmt} is binary: give --out FILE")
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    print(f"wrote {path} ({len(content):,} bytes)", file=sys.stderr)


# --- commands ----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from outputs.exports import catalogue_frame

    catalogue = _catalogue()
    frame = catalogue_frame()
    if args.group:
        try:
            catalogue.group(args.group)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
        frame = frame.filter(frame["gruppe"] == args.group)
    if args.format == "csv":
        sys.stdout.write(frame.select("gruppe", "indikator_id", "indikator", "enhet", "standardisert", "kilde").write_csv())
        return 0
    rows = [("GROUP", "ID", "NAME", "UNIT", "STANDARDISED", "SOURCE")]
    for row in frame.iter_rows(named=True):
        rows.append((
            row["gruppe"], row["indikator_id"], row["indikator"], row["enhet"],
            "yes" if row["standardisert"] else "no", row["kilde"],
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    print(f"\n{frame.height} indicators in {frame['gruppe'].n_unique()} groups; "
          "groups: " + ", ".join(g.id for g in catalogue.groups))
    return 0


def cmd_compute(args: argparse.Namespace) -> int:
    from indicators import current_key
    from outputs.exports import export_bytes, export_metadata

    ind = _indicator(args.indicator)
    level = _level(args.level)
    years = parse_year_range(args.years) if args.years else None
    if args.out is None and args.format not in STDOUT_FORMATS:
        raise UsageError(f"--format {args.format} is binary: give --out FILE")
    key = current_key()
    table = _compute(ind.id, level, years, args.pooled, key)
    content, _, _ = export_bytes(table, export_metadata(ind.id, table, key), args.format)
    _write(content, args.out, args.format)
    return 0


README = """# Eksport fra Styringsinformasjon for helsefellesskapene

{warning}Generert {generated} med `python -m indicators {command}`.

- Nivå: {level}
- Perioder: {periods}
- Format: {fmt} ({fmt_text})
- Uttrekksdato (datagrunnlag): {extraction}
- Datagrunnlag: {sources}
- Syntetiske data: {synthetic}

## Filer

{files}

## Kolonner

{columns}

## Prikking og flagg

{rule}

Flagg: {flags}

Tomme celler betyr prikket (skjult), ikke rapportert eller mangler – aldri 0.

## Indikatorer

{indicators}
"""

FORMAT_TEXT = {
    "csv": "UTF-8 med BOM, semikolon som skilletegn, desimalkomma; metadata som egne kolonner på hver rad",
    "csv-plain": "UTF-8, komma som skilletegn, desimalpunktum; metadata som egne kolonner på hver rad",
    "xlsx": "Excel; arket «data» har tabellen, arket «metadata» beskrivelsen",
    "parquet": "Parquet; metadata i filens nøkkel/verdi-metadata",
}


def _selection(args: argparse.Namespace):
    catalogue = _catalogue()
    if args.all:
        return list(catalogue.indicators)
    if args.group:
        try:
            return list(catalogue.in_group(args.group))
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
    seen, chosen = set(), []
    for indicator_id in args.indicator:
        ind = _indicator(indicator_id)
        if ind.id not in seen:
            seen.add(ind.id)
            chosen.append(ind)
    return chosen


def cmd_export(args: argparse.Namespace) -> int:
    from datetime import datetime

    from indicators import IndicatorRequestError, available_years, current_key, data
    from outputs.exports import (
        COLUMN_DESCRIPTIONS, catalogue_bytes, export_bytes, export_metadata, flags_text, suppression_rule,
    )

    chosen = _selection(args)
    level = _level(args.level)
    years = parse_year_range(args.years) if args.years else None
    key = current_key()
    # A year is an error when no selected indicator has it; an indicator without some of the
    # years exports the years it has (with a note), e.g. SP1 starts in 2022.
    plans = []
    if years is not None and not args.pooled:
        wanted = set(range(years[0], years[1] + 1))
        have = {ind.id: set(available_years(ind.id, key)) for ind in chosen}
        union = set().union(*have.values())
        missing = sorted(wanted - union)
        if missing:
            span = f"{min(union)}-{max(union)}" if union else "none"
            raise UsageError(f"no data in {', '.join(map(str, missing))} for the selected indicators; years with data: {span}")
        for ind in chosen:
            own = sorted(wanted & have[ind.id])
            if not own:
                print(f"note: {ind.id} has no data in {args.years}; skipped", file=sys.stderr)
                continue
            if len(own) < len(wanted):
                print(f"note: {ind.id} has data only for {own[0]}-{own[-1]} of {args.years}", file=sys.stderr)
            plans.append((ind, [dict(years=own)]))
    else:
        for ind in chosen:
            try:
                plans.append((ind, _periods(ind.id, years, args.pooled, key)))
            except UsageError as exc:
                if len(chosen) == 1:
                    raise
                print(f"note: {exc}; skipped", file=sys.stderr)
            except IndicatorRequestError as exc:
                if len(chosen) == 1:
                    raise
                print(f"note: {exc}; skipped", file=sys.stderr)
        if not plans:
            raise UsageError("none of the selected indicators has data for the requested period")
    import polars as pl

    from indicators import compute

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written, all_meta, periods_seen = [], {}, []
    for ind, period_args in plans:
        frames = [compute(ind.id, level, key=key, **a) for a in period_args]
        table = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
        meta = export_metadata(ind.id, table, key)
        content, _, ext = export_bytes(table, meta, args.format)
        path = out / f"{ind.id}.{ext}"
        path.write_bytes(content)
        written.append((path.name, f"{ind.name} ({meta['perioder']})"))
        all_meta[ind.id] = meta
        periods_seen.append(meta["perioder"])
    content, _, ext = catalogue_bytes(args.format, key)
    (out / f"katalog.{ext}").write_bytes(content)
    written.append((f"katalog.{ext}", "Indikatorkatalogen: definisjoner, enheter, kilder"))
    (out / "metadata.json").write_text(json.dumps(all_meta, ensure_ascii=False, indent=1), encoding="utf-8")
    written.append(("metadata.json", "All metadata per indikator (maskinlesbar)"))
    written.append(("README.md", "Denne filen"))
    synthetic = data.is_synthetic(key)
    first = next(iter(all_meta.values()))
    indicator_lines = "\n".join(
        f"- `{i}`: {m['indikator']}. {m['definisjon']} Enhet: {m['enhet']}. {m['standardisering']}. Kilde: {m['kilde']}."
        for i, m in all_meta.items()
    )
    readme = README.format(
        warning="**SYNTETISKE DEMODATA – tallene er generert for demonstrasjon og er ikke ekte.**\n\n" if synthetic else "",
        generated=datetime.now().replace(microsecond=0).isoformat(sep=" "),
        command=" ".join(["export", *args.argv]),
        level=level,
        periods="; ".join(sorted(set(periods_seen))),
        fmt=args.format,
        fmt_text=FORMAT_TEXT[args.format],
        extraction=first["uttrekksdato"],
        sources=first["datagrunnlag"],
        synthetic="ja" if synthetic else "nei",
        files="\n".join(f"- `{name}`: {text}" for name, text in written),
        columns=COLUMN_DESCRIPTIONS,
        rule=suppression_rule(ind.suppression_threshold for ind, _ in plans),
        flags=flags_text(),
        indicators=indicator_lines,
    )
    (out / "README.md").write_text(readme, encoding="utf-8")
    print(f"wrote {len(written)} files to {out}", file=sys.stderr)
    return 0


def cmd_overlap(args: argparse.Namespace) -> int:
    from indicators import current_key
    from indicators.overlap import overlap_table
    from outputs.overlap_export import export_bytes

    level = _level(args.level)
    years = parse_year_range(args.years) if args.years else None
    if args.out is None and args.format not in STDOUT_FORMATS:
        raise UsageError(f"--format {args.format} is binary: give --out FILE")
    key = current_key()
    table = overlap_table(level, list(range(years[0], years[1] + 1)) if years else None, key=key)
    content, _, _ = export_bytes(table, args.format, key=key)
    _write(content, args.out, args.format)
    return 0


def cmd_deck(args: argparse.Namespace) -> int:
    from indicators import current_key, data
    from outputs.deck import build_deck, convert_to_pdf

    key = current_key()
    ids = data.helsefellesskap(key)["helsefellesskap_id"].to_list()
    if args.helsefellesskap not in ids:
        raise UsageError(f"unknown helsefellesskap {args.helsefellesskap!r}; choose one of {', '.join(ids)}")
    years = parse_year_range(args.years) if args.years else None
    out = Path(args.out)
    if out.suffix.lower() != ".pptx":
        raise UsageError(f"--out must name a .pptx file, got {out.name!r}")
    content = build_deck(args.helsefellesskap, years, key=key)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"wrote {out} ({len(content):,} bytes)", file=sys.stderr)
    if args.pdf:
        pdf = convert_to_pdf(content)
        if pdf is None:
            print("error: LibreOffice (soffice) is not available; wrote the PPTX only", file=sys.stderr)
            return RUNTIME_ERROR
        pdf_path = out.with_suffix(".pdf")
        pdf_path.write_bytes(pdf)
        print(f"wrote {pdf_path} ({len(pdf):,} bytes)", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The yearly status report (årlig statusrapport) of one helsefellesskap as DOCX or PDF."""
    from indicators import current_key
    from outputs.report import build_report, report_file_name

    out = Path(args.output or report_file_name(args.helsefellesskap, args.year, args.format))
    if out.suffix.lower() != f".{args.format}":
        raise UsageError(f"--output must name a .{args.format} file, got {out.name!r}")
    content = build_report(args.helsefellesskap, args.year, args.format, key=current_key())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"wrote {out} ({len(content):,} bytes)", file=sys.stderr)
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    """Compute the whole catalogue once (every indicator, period and level), filling the result cache."""
    import time

    import indicators
    from indicators.engine import warm

    key = indicators.current_key()
    started = time.perf_counter()
    warm(key)
    count = len(indicators.load_catalogue().indicators)
    print(f"computed {count} indicators in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def cmd_suppression_log(args: argparse.Namespace) -> int:
    """Internal: every hidden cell with its reason (primary or secondary). Refused in public mode."""
    from data_loaders.config import settings
    from indicators.engine import suppression_log

    if settings().public_mode:
        raise UsageError("the suppression log is internal and not available in public mode (PUBLIC_MODE=1)")
    log = suppression_log()
    if args.out:
        log.write_csv(args.out)
        print(f"wrote {args.out} ({log.height:,} hidden cells)", file=sys.stderr)
    else:
        sys.stdout.write(log.write_csv())
    return 0


# --- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from indicators.engine import LEVELS

    parser = _Parser(
        prog="python -m indicators",
        description="Indicator catalogue, suppressed tables, batch exports and meeting decks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{list,compute,export,overlap,deck,report,warm,suppression-log}", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("list", help="print the indicator catalogue")
    p.add_argument("--group", help="only this group")
    p.add_argument("--format", choices=LIST_FORMATS, default="text")
    p.set_defaults(func=cmd_list)

    years_help = "one year (2024) or a range (2022-2024); default: every year with data"
    p = sub.add_parser("compute", help="write one indicator's full table (stdout for csv/json)")
    p.add_argument("--indicator", required=True, metavar="ID")
    p.add_argument("--level", required=True, metavar="LEVEL", help=f"one of {', '.join(LEVELS)}")
    p.add_argument("--years", metavar="RANGE", help=years_help)
    p.add_argument("--pooled", action="store_true",
                   help="the pooled period --years START-END (only the published fixed 3-year windows)")
    p.add_argument("--format", choices=COMPUTE_FORMATS, default="csv",
                   help="csv (Norwegian: ';' and decimal comma), csv-plain (',' and '.'), parquet, json, xlsx")
    p.add_argument("--out", metavar="FILE", help="output file (default: stdout for csv, csv-plain, json)")
    p.set_defaults(func=cmd_compute)

    p = sub.add_parser("export", help="write one file per indicator plus katalog and README to a directory")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--group", metavar="GROUP")
    which.add_argument("--all", action="store_true", help="every indicator")
    which.add_argument("--indicator", metavar="ID", nargs="+", action="extend")
    p.add_argument("--level", required=True, metavar="LEVEL", help=f"one of {', '.join(LEVELS)}")
    p.add_argument("--years", metavar="RANGE", help=years_help)
    p.add_argument("--pooled", action="store_true", help="pooled periods (the published fixed 3-year windows)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("overlap", help="write the overlap between the four priority groups (15 combinations, union, groups)")
    p.add_argument("--level", required=True, metavar="LEVEL", help="helsefellesskap or land")
    p.add_argument("--years", metavar="RANGE", help=years_help)
    p.add_argument("--format", choices=COMPUTE_FORMATS, default="csv",
                   help="csv (Norwegian: ';' and decimal comma), csv-plain (',' and '.'), parquet, json, xlsx")
    p.add_argument("--out", metavar="FILE", help="output file (default: stdout for csv, csv-plain, json)")
    p.set_defaults(func=cmd_overlap)

    p = sub.add_parser("deck", help="build the SSU meeting deck (PPTX, optionally PDF) for a helsefellesskap")
    p.add_argument("--helsefellesskap", required=True, metavar="ID")
    p.add_argument("--years", metavar="RANGE", help="trend period, e.g. 2019-2025 (default: every year with data)")
    p.add_argument("--out", required=True, metavar="FILE.pptx")
    p.add_argument("--pdf", action="store_true", help="also write FILE.pdf (needs LibreOffice)")
    p.set_defaults(func=cmd_deck)

    p = sub.add_parser("report", help="build the yearly status report (DOCX or PDF) for a helsefellesskap")
    p.add_argument("--helsefellesskap", required=True, metavar="ID")
    p.add_argument("--year", required=True, type=int, metavar="YYYY", help="the report's year (must have data)")
    p.add_argument("--format", choices=("docx", "pdf"), default="docx")
    p.add_argument("--output", metavar="FILE", help="output file (default: statusrapport_ID_YYYY.FORMAT)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("warm", help="compute every indicator once so the dashboard starts fast (after a build or import)")
    p.set_defaults(func=cmd_warm)

    p = sub.add_parser("suppression-log", help="internal: every hidden cell and why (not in public mode)")
    p.add_argument("--out", metavar="FILE.csv", help="output file (default: stdout)")
    p.set_defaults(func=cmd_suppression_log)
    return parser


def main(argv: list[str] | None = None) -> int:
    from data_loaders.store import StoreNotReadyError
    from indicators import IndicatorRequestError
    from outputs.exports import UnsafeExportError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    args.argv = argv[1:]
    prog = f"python -m indicators {args.command}"
    try:
        return args.func(args)
    except (UsageError, IndicatorRequestError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except StoreNotReadyError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return RUNTIME_ERROR
    except UnsafeExportError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return RUNTIME_ERROR
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
