"""Periods: single years and the fixed, non-overlapping pooled windows."""

from __future__ import annotations

from dataclasses import dataclass

POOLING_YEARS = 3


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


def pooled_windows(years: tuple[int, ...] | list[int]) -> list[Period]:
    """Whole windows of ``POOLING_YEARS`` ending at the latest year, going back while every year has data.

    Windows never overlap, so pooled and single-year figures cannot be subtracted from one
    another to uncover a suppressed count (the engine's temporal rule covers the rest).
    """
    available = set(years)
    periods = []
    end = max(available, default=None)
    while end is not None and all(y in available for y in range(end - POOLING_YEARS + 1, end + 1)):
        periods.append(Period(end - POOLING_YEARS + 1, end))
        end -= POOLING_YEARS
    return periods


def all_periods(years: tuple[int, ...] | list[int]) -> list[Period]:
    """Every single year, then the pooled windows."""
    return [Period(y, y) for y in sorted(years)] + pooled_windows(years)
