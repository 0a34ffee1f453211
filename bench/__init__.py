"""Benchmarks: each module here exposes `run() -> list[Measurement]`; `python -m bench` runs them all.

Timings vary by machine, so each benchmark reports ratios measured within one run next to the
raw numbers; nothing here passes or fails a build.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """One reported number."""

    name: str
    value: float
    unit: str

    def render(self) -> str:
        shown = f"{self.value:,.0f}" if self.value >= 100 else f"{self.value:,.3g}"
        return f"{self.name:<48} {shown:>14} {self.unit}"
