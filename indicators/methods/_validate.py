"""Input validation shared by the indicator methods.

Every check raises :class:`MethodInputError` with a message naming the column
and the (0-based, positional) row of the first offending value, e.g.
``"count: negative value -3 in row 2"``.  When several rows are affected the
message ends with ``"(and N more rows)"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real

import numpy as np
import polars as pl


class MethodInputError(ValueError):
    """Raised when the input to an indicator method is invalid."""


def format_number(value: object) -> str:
    """Render a number for an error message (``-3`` rather than ``-3.0``)."""
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _more(n_bad: int) -> str:
    extra = n_bad - 1
    if extra <= 0:
        return ""
    return f" (and {extra} more row{'s' if extra > 1 else ''})"


def require_frame(df: object, name: str = "df") -> pl.DataFrame:
    if not isinstance(df, pl.DataFrame):
        raise MethodInputError(
            f"{name}: expected a polars DataFrame, got {type(df).__name__}"
        )
    return df


def require_columns(df: pl.DataFrame, columns: Iterable[str], *, frame: str = "data") -> None:
    """Raise if any of ``columns`` is missing from ``df``."""
    for col in columns:
        if not isinstance(col, str):
            raise MethodInputError(f"column names must be strings, got {col!r}")
        if col not in df.columns:
            available = ", ".join(df.columns) or "(none)"
            raise MethodInputError(
                f"column '{col}' not found in {frame} (available: {available})"
            )


def column_list(columns: str | Sequence[str] | None, *, argument: str) -> list[str]:
    """Normalise a column-name argument (str or sequence of str) to a list."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    try:
        out = list(columns)
    except TypeError:
        raise MethodInputError(
            f"{argument}: expected a column name or a list of column names, got {columns!r}"
        ) from None
    for col in out:
        if not isinstance(col, str):
            raise MethodInputError(f"{argument}: column names must be strings, got {col!r}")
    if len(set(out)) != len(out):
        raise MethodInputError(f"{argument}: duplicate column names in {out!r}")
    return out


def numeric_column(
    df: pl.DataFrame,
    column: str,
    *,
    allow_null: bool = False,
    allow_negative: bool = False,
    allow_zero: bool = True,
    frame: str = "data",
) -> np.ndarray:
    """Return ``df[column]`` as a float64 array (nulls as NaN) after validation.

    Checks, in this order: the column exists; it is numeric; no NaN/inf;
    no nulls (unless ``allow_null``); no negatives (unless ``allow_negative``);
    no zeros (unless ``allow_zero``).
    """
    require_columns(df, [column], frame=frame)
    series = df.get_column(column)
    dtype = series.dtype
    if dtype == pl.Null:
        values = np.full(series.len(), np.nan)
        null_mask = np.ones(series.len(), dtype=bool)
    elif not dtype.is_numeric():
        raise MethodInputError(f"{column}: column must be numeric, got {dtype}")
    else:
        null_mask = series.is_null().to_numpy()
        values = series.cast(pl.Float64).to_numpy().astype(np.float64, copy=True)

    nonfinite = ~null_mask & ~np.isfinite(values)
    if nonfinite.any():
        idx = np.flatnonzero(nonfinite)
        raise MethodInputError(
            f"{column}: non-finite value {float(values[idx[0]])!r} in row {idx[0]}{_more(idx.size)}"
        )
    if not allow_null and null_mask.any():
        idx = np.flatnonzero(null_mask)
        raise MethodInputError(f"{column}: null in row {idx[0]}{_more(idx.size)}")
    with np.errstate(invalid="ignore"):
        if not allow_negative:
            neg = values < 0
            if neg.any():
                idx = np.flatnonzero(neg)
                raise MethodInputError(
                    f"{column}: negative value {format_number(series[int(idx[0])])} "
                    f"in row {idx[0]}{_more(idx.size)}"
                )
        if not allow_zero:
            zero = values == 0
            if zero.any():
                idx = np.flatnonzero(zero)
                raise MethodInputError(f"{column}: zero in row {idx[0]}{_more(idx.size)}")
    return values


def key_columns_complete(df: pl.DataFrame, columns: Sequence[str], *, frame: str = "data") -> None:
    """Raise if a grouping/join column contains nulls."""
    require_columns(df, columns, frame=frame)
    for col in columns:
        nulls = df.get_column(col).is_null().to_numpy()
        if nulls.any():
            idx = np.flatnonzero(nulls)
            raise MethodInputError(
                f"{col}: null in row {idx[0]} of {frame}{_more(idx.size)}"
            )


def check_multiplier(multiplier: object) -> float:
    if (
        isinstance(multiplier, bool)
        or not isinstance(multiplier, Real)
        or not math.isfinite(float(multiplier))
        or float(multiplier) <= 0
    ):
        raise MethodInputError(f"multiplier: must be a positive number, got {multiplier!r}")
    return float(multiplier)


def as_float_array(values: object, *, name: str) -> np.ndarray:
    """Convert an array-like of numbers to a 1-D float64 array (NaN kept)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MethodInputError(f"{name}: expected numbers, got {values!r}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise MethodInputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def describe_key(names: Sequence[str], values: Sequence[object]) -> str:
    """``area='x', year=2020`` style description of a group or band key."""
    if not names:
        return "(all rows)"
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, values))


def float_series(name: str, values: np.ndarray) -> pl.Series:
    """Float64 Series with NaN converted to null."""
    return pl.Series(name, np.asarray(values, dtype=np.float64), nan_to_null=True)
