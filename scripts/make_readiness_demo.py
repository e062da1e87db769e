"""Write the synthetic demo file assets/pakkeforlop/kommune_readiness_demo.csv.

Deterministic (a hash of each kommune number, no random state): running it again gives the
same file. Every row is marked ``demo = true``. About 56 % of the kommuner get a cancer
coordinator, as in the national survey the plan refers to. Contact points and units are
names of functions and units, never of persons.

    python scripts/make_readiness_demo.py [--output PATH] [--share 0.56]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data_loaders.readiness import DEMO_PATH  # noqa: E402
from data_loaders.reference import load_kommuner  # noqa: E402

SOURCE = "Syntetiske demodata (scripts/make_readiness_demo.py) – ikke kommunens egne opplysninger"
CONTACT_WITH_COORDINATOR = (
    "Kreftkoordinator",
    "Kreftkoordinator i hjemmetjenesten",
    "Kreftkoordinator, interkommunal ordning",
    "Kreftkoordinator ved helsesenteret",
)
CONTACT_WITHOUT_COORDINATOR = (
    "Tildelingskontoret",
    "Servicetorget for helse og omsorg",
    "Hjemmesykepleien, fagleder",
    "Tjenestekontoret for helse og omsorg",
    "Koordinerende enhet",
    "Legekontoret, kontaktsykepleier",
)
COORDINATING_UNITS = (
    "Koordinerende enhet, Tildelingskontoret",
    "Koordinerende enhet for habilitering og rehabilitering",
    "Forvaltningskontoret for helse og omsorg",
    "Tjenestekontoret",
    "Enhet for tildeling og koordinering",
    "Helse- og omsorgsforvaltningen",
)


def _hash(number: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{number}".encode()).hexdigest()[:12], 16)


def build(share: float = 0.56) -> pl.DataFrame:
    kommuner = load_kommuner().sort("kommunenummer")
    numbers = kommuner["kommunenummer"].to_list()
    ranked = sorted(numbers, key=lambda n: _hash(n, "kreftkoordinator"))
    with_coordinator = set(ranked[: round(share * len(numbers))])
    rows = []
    for number, name in zip(numbers, kommuner["kommunenavn"].to_list()):
        has = number in with_coordinator
        contacts = CONTACT_WITH_COORDINATOR if has else CONTACT_WITHOUT_COORDINATOR
        rows.append({
            "kommunenummer": number,
            "kommunenavn": name,
            "kontaktpunkt": contacts[_hash(number, "kontaktpunkt") % len(contacts)],
            "har_kreftkoordinator": "ja" if has else "nei",
            "koordinerende_enhet": COORDINATING_UNITS[_hash(number, "enhet") % len(COORDINATING_UNITS)],
            "demo": "true",
            "source": SOURCE,
        })
    return pl.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEMO_PATH)
    parser.add_argument("--share", type=float, default=0.56, help="share of kommuner with a cancer coordinator")
    args = parser.parse_args(argv)
    frame = build(args.share)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(args.output)
    print(f"Wrote {frame.height} kommuner to {args.output} "
          f"({(frame['har_kreftkoordinator'] == 'ja').sum()} with kreftkoordinator)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
