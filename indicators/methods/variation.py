"""Summary measures of geographical variation between areas.

References
----------
- McPherson K, Wennberg JE, Hovind OB, Clifford P. Small-area variations in
  the use of common surgical procedures: an international comparison of New
  England, England, and Norway. N Engl J Med 1982;307:1310-4 (systematic
  component of variation, SCV).
- Helseatlas (SKDE, Norway) reports the high/low ratio (FT1), FT2 and FT3,
  the coefficient of variation in per cent and SCV x 100 for its atlases
  (SKDE's rate programme, ``rateprogram/variasjon.sas`` in SKDE-Analyse/sas_codes).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ._validate import MethodInputError, numeric_column, require_frame


def variation_summary(
    df: pl.DataFrame,
    value: str = "value",
    observed: str | None = None,
    expected: str | None = None,
) -> pl.DataFrame:
    """One-row DataFrame: ``n_areas``, ``high_low_ratio``, ``ft2``, ``ft3``, ``cv``, ``cv_percent``, ``scv``.

    - n_areas: number of non-null values (null values are ignored).
    - high_low_ratio (SKDE's FT1) = max(value) / min(value); null when min is 0 or no values.
    - ft2 = second highest / second lowest value, ft3 = third highest / third
      lowest (SKDE's FT2 and FT3, less driven by a single outlier); null with
      fewer than 4 (ft2) or 6 (ft3) values, so that the two are different areas,
      or when the denominator is 0.
    - cv = s / mean(value), s the sample standard deviation (ddof = 1); null
      with fewer than two values or a zero mean.  cv_percent = 100 x cv, the
      unit Helseatlas prints it in.
    - scv = 100 x (1/k) sum_i [ (O_i - E_i)^2 / E_i^2 - 1/E_i ] over the k rows,
      with observed O_i and expected E_i counts (McPherson et al. 1982; x 100
      as Helseatlas reports it).  Needs both ``observed`` and ``expected``
      (complete, O >= 0, E > 0); null when they are not given.

    Values must be non-negative (these are measures for rates/ratios).
    """
    require_frame(df)
    v = numeric_column(df, value, allow_null=True)
    v = v[~np.isnan(v)]
    k_values = int(v.size)

    high_low = None
    cv = None
    if k_values:
        vmin, vmax = float(v.min()), float(v.max())
        high_low = vmax / vmin if vmin > 0 else None
    ordered = np.sort(v)
    ratios = {}
    for rank in (2, 3):
        low = float(ordered[rank - 1]) if k_values >= 2 * rank else 0.0
        ratios[rank] = float(ordered[-rank]) / low if low > 0 else None
    if k_values >= 2:
        mean = float(v.mean())
        cv = float(v.std(ddof=1)) / mean if mean != 0 else None

    if (observed is None) != (expected is None):
        raise MethodInputError("scv: give both observed and expected columns, or neither")
    scv = None
    if observed is not None and expected is not None:
        o = numeric_column(df, observed)
        e = numeric_column(df, expected, allow_zero=False)
        if o.size:
            scv = 100.0 * float(np.mean((o - e) ** 2 / e**2 - 1.0 / e))

    return pl.DataFrame(
        {
            "n_areas": [k_values],
            "high_low_ratio": [high_low],
            "ft2": [ratios[2]],
            "ft3": [ratios[3]],
            "cv": [cv],
            "cv_percent": [None if cv is None else 100.0 * cv],
            "scv": [scv],
        },
        schema={"n_areas": pl.Int64, "high_low_ratio": pl.Float64, "ft2": pl.Float64, "ft3": pl.Float64,
                "cv": pl.Float64, "cv_percent": pl.Float64, "scv": pl.Float64},
    )
