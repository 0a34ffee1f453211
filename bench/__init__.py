"""Benchmarks: each module here exposes `run() -> list[Measurement]`; `python -m bench` runs them all.

Timings vary by machine, so each benchmark reports ratios measured within one run next to the
raw numbers; nothing here passes or fails a build. A ratio may carry a goal, and its line says
whether this run met it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    """A bound a ratio should respect: at most `bound` (`at_most=True`) or at least `bound`."""

    bound: float
    at_most: bool

    def met_by(self, value: float) -> bool:
        return value <= self.bound if self.at_most else value >= self.bound

    def render(self, value: float) -> str:
        sign = "<=" if self.at_most else ">="
        return f"goal {sign} {self.bound:g}: {'met' if self.met_by(value) else 'NOT met'}"


@dataclass(frozen=True)
class Measurement:
    """One reported number, and the goal it is held to if it has one."""

    name: str
    value: float
    unit: str
    goal: Goal | None = None

    def render(self) -> str:
        shown = f"{self.value:,.0f}" if self.value >= 100 else f"{self.value:,.3g}"
        line = f"{self.name:<52} {shown:>10} {self.unit}"
        return f"{line:<90} {self.goal.render(self.value)}" if self.goal else line
