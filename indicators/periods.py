"""Periods: single years and the fixed, non-overlapping pooled windows."""

from __future__ import annotations

from dataclasses import dataclass

POOLING_YEARS = 3
# Pooled windows are anchored to this year: 2020–2022, 2023–2025, 2026–2028, … (and 2017–2019
# before it). A new year never shifts a window that is already published, so two successive
# releases publish the same windows and cannot be subtracted from each other.
POOLING_EPOCH = 2020


@dataclass(frozen=True, order=True)
class Period:
    start: int
    end: int

    @property
    def label(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.end + 1))

    @property
    def is_pooled(self) -> bool:
        return self.end > self.start


def window_of(year: int) -> Period:
    """The fixed pooled window that holds ``year``."""
    start = year - (year - POOLING_EPOCH) % POOLING_YEARS
    return Period(start, start + POOLING_YEARS - 1)


def pooled_windows(years: tuple[int, ...] | list[int]) -> list[Period]:
    """The fixed windows (anchored at ``POOLING_EPOCH``) whose every year has data, latest first.

    A window that is not complete yet (2026–2028 while only 2026 has data) is not published: it
    would grow with every release, and two releases of a growing sum give away the new year.
    Windows never overlap, and each is audited together with its single years.
    """
    available = set(years)
    windows = {window_of(y) for y in available}
    return sorted((w for w in windows if all(y in available for y in w.years)), reverse=True)


def all_periods(years: tuple[int, ...] | list[int]) -> list[Period]:
    """Every single year, then the pooled windows."""
    return [Period(y, y) for y in sorted(years)] + pooled_windows(years)
